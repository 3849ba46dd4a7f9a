package dev.undo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights of K same-shape models ("members") stacked along a new leading axis: every parameter that has shape
 * {@code S} in {@link Params} has shape {@code (K, ...S)} here, under the same HF name. One stacked array per name
 * lets {@link EnsembleDecoder} run all members as one batched computation, so the per-op cost of a training step
 * is paid once for K models (a relearning attack's learning rates, UNDO's α-students, an unlearning sweep).
 *
 * <p>Members are independent: nothing in the forward pass mixes slices, so the gradient of a sum of per-member
 * losses, sliced at member k, is member k's own gradient. Members go in and out as copies ({@link #stack},
 * {@link #member}, {@link #setMember}), so a member can be evaluated, checkpointed or resumed as a single model.
 * Owns an {@link NDManager}; close it to free the weights.
 */
public final class EnsembleParams implements AutoCloseable {
  private final NDManager manager;
  private final int members;
  private final LinkedHashMap<String, NDArray> arrays = new LinkedHashMap<>();

  private EnsembleParams(NDManager parent, int members) {
    if (members < 1) {
      throw new IllegalArgumentException("an ensemble needs at least one member, got " + members);
    }
    this.manager = parent.newSubManager();
    this.members = members;
  }

  /**
   * Stacks copies of {@code members}' weights (all must hold the same names and shapes; the first member's order
   * is kept). The inputs are not modified and stay owned by the caller.
   */
  public static EnsembleParams stack(List<Params> members, NDManager parent) {
    if (members.isEmpty()) {
      throw new IllegalArgumentException("an ensemble needs at least one member");
    }
    List<String> names = members.get(0).names();
    for (int k = 1; k < members.size(); k++) {
      if (!members.get(k).names().equals(names)) {
        throw new IllegalArgumentException("member " + k + " has parameters " + members.get(k).names()
            + ", member 0 has " + names);
      }
    }
    EnsembleParams e = new EnsembleParams(parent, members.size());
    for (String n : names) {
      NDArray[] slices = new NDArray[members.size()];
      Shape shape = members.get(0).get(n).getShape();
      for (int k = 0; k < slices.length; k++) {
        slices[k] = members.get(k).get(n);
        if (!slices[k].getShape().equals(shape)) {
          throw new IllegalArgumentException("parameter '" + n + "' of member " + k + " has shape "
              + slices[k].getShape() + ", member 0 has " + shape);
        }
      }
      // stack() allocates a new array, so the members' own weights are never aliased.
      NDArray s = NDArrays.stack(new NDList(slices));
      s.attach(e.manager);
      e.arrays.put(n, s);
    }
    return e;
  }

  /** K copies of one model: the start of a learning-rate sweep or of several students of one initialisation. */
  public static EnsembleParams replicate(Params p, int members, NDManager parent) {
    List<Params> same = new ArrayList<>();
    for (int k = 0; k < members; k++) {
      same.add(p);
    }
    return stack(same, parent);
  }

  public int size() {
    return members;
  }

  public NDManager manager() {
    return manager;
  }

  /** The stacked array {@code (K, ...S)} of one parameter. */
  public NDArray get(String name) {
    NDArray a = arrays.get(name);
    if (a == null) {
      throw new IllegalArgumentException("no parameter named '" + name + "'");
    }
    return a;
  }

  public boolean has(String name) {
    return arrays.containsKey(name);
  }

  /** Parameter names in the members' order ({@link Params#names(ModelConfig)} for a full model). */
  public List<String> names() {
    return new ArrayList<>(arrays.keySet());
  }

  public Map<String, NDArray> asMap() {
    return Collections.unmodifiableMap(arrays);
  }

  /** The shape of one member's slice of a parameter (the stacked shape without its leading K). */
  public Shape memberShape(String name) {
    return get(name).getShape().slice(1);
  }

  /** Checks every member against {@link Params#validate}'s rules: the names and shapes of {@code c}, float32. */
  public void validate(ModelConfig c, String where) {
    List<String> expected = Params.names(c);
    for (String n : expected) {
      NDArray a = arrays.get(n);
      if (a == null) {
        throw new IllegalArgumentException(where + ": missing parameter '" + n + "'");
      }
      Shape want = new Shape(members).addAll(Params.shapeOf(c, n));
      if (!a.getShape().equals(want)) {
        throw new IllegalArgumentException(
            where + ": parameter '" + n + "' has shape " + a.getShape() + ", config wants " + want);
      }
      if (a.getDataType() != DataType.FLOAT32) {
        throw new IllegalArgumentException(where + ": parameter '" + n + "' is " + a.getDataType() + ", not float32");
      }
    }
    for (String n : arrays.keySet()) {
      if (!expected.contains(n)) {
        throw new IllegalArgumentException(where + ": unexpected parameter '" + n + "'");
      }
    }
  }

  /** A copy of member {@code k}'s weights as a single model (for evaluation or a checkpoint); no gradients. */
  public Params member(int k, NDManager parent) {
    checkMember(k);
    Params p = new Params(parent);
    for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
      // get(k) is a view of the stacked array; duplicate() detaches it so the copy outlives later updates.
      try (NDArray view = e.getValue().get(new NDIndex().addIndices(k))) {
        p.put(e.getKey(), view.duplicate());
      }
    }
    return p;
  }

  /**
   * Overwrites member {@code k}'s slice of every parameter with {@code p}'s weights (copied; {@code p} keeps its
   * own). In place, so the stacked arrays keep their identity and gradient buffers. Call outside a gradient
   * recording (an in-place write to a trainable leaf is an error while recording).
   */
  public void setMember(int k, Params p) {
    checkMember(k);
    for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
      NDArray src = p.get(e.getKey());
      if (!src.getShape().equals(memberShape(e.getKey()))) {
        throw new IllegalArgumentException("parameter '" + e.getKey() + "' has shape " + src.getShape()
            + ", the ensemble's members have " + memberShape(e.getKey()));
      }
      e.getValue().set(new NDIndex().addIndices(k), src);
    }
    for (String n : p.names()) {
      if (!arrays.containsKey(n)) {
        throw new IllegalArgumentException("parameter '" + n + "' is not in the ensemble");
      }
    }
  }

  /** Marks every stacked parameter as trainable (allocates gradient buffers). */
  public void requireGradients() {
    for (NDArray a : arrays.values()) {
      a.setRequiresGradient(true);
    }
  }

  /**
   * Marks only {@code names} as trainable (RMU trains a few {@code mlp.down_proj} weights): the backward pass then
   * computes no gradient for the frozen ones.
   */
  public void requireGradients(java.util.Collection<String> names) {
    for (String n : names) {
      get(n).setRequiresGradient(true);
    }
  }

  /** Parameters of one member (the stacked count divided by K). */
  public long memberCount() {
    long n = 0;
    for (NDArray a : arrays.values()) {
      n += a.size() / members;
    }
    return n;
  }

  private void checkMember(int k) {
    if (k < 0 || k >= members) {
      throw new IllegalArgumentException("member " + k + " out of range [0, " + (members - 1) + "]");
    }
  }

  @Override
  public void close() {
    manager.close();
    arrays.clear();
  }
}
