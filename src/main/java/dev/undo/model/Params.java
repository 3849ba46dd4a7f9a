package dev.undo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights of one model: HF Gemma-2 names to float32 arrays, in a fixed order. Owns an {@link NDManager}; close
 * it to free the weights. Name-addressable so that RMU can pick {@code layers.N.mlp.down_proj.weight} by string
 * and safetensors I/O needs no mapping table.
 */
public final class Params implements AutoCloseable {
  private final NDManager manager;
  private final LinkedHashMap<String, NDArray> arrays = new LinkedHashMap<>();

  public Params(NDManager parent) {
    this.manager = parent.newSubManager();
  }

  private Params() {
    this.manager = null;
  }

  /**
   * A non-owning view over arrays owned elsewhere (e.g. base weights plus LoRA deltas computed for one step):
   * putting an array does not move it, and closing the view frees nothing.
   */
  public static Params view(Map<String, NDArray> arrays) {
    Params p = new Params();
    p.arrays.putAll(arrays);
    return p;
  }

  public NDManager manager() {
    return manager;
  }

  /** The parameter names of a config, in canonical order (docs/MODEL.md). */
  public static List<String> names(ModelConfig c) {
    List<String> out = new ArrayList<>();
    out.add("embed_tokens.weight");
    for (int i = 0; i < c.numLayers(); i++) {
      String p = "layers." + i + ".";
      out.add(p + "input_layernorm.weight");
      out.add(p + "self_attn.q_proj.weight");
      out.add(p + "self_attn.k_proj.weight");
      out.add(p + "self_attn.v_proj.weight");
      out.add(p + "self_attn.o_proj.weight");
      out.add(p + "post_attention_layernorm.weight");
      out.add(p + "pre_feedforward_layernorm.weight");
      out.add(p + "mlp.gate_proj.weight");
      out.add(p + "mlp.up_proj.weight");
      out.add(p + "mlp.down_proj.weight");
      out.add(p + "post_feedforward_layernorm.weight");
    }
    out.add("norm.weight");
    return out;
  }

  /** The shape a parameter must have under a config. */
  public static Shape shapeOf(ModelConfig c, String name) {
    long d = c.hiddenSize();
    long f = c.intermediateSize();
    if (name.equals("embed_tokens.weight")) {
      return new Shape(c.vocabSize(), d);
    }
    if (name.endsWith("layernorm.weight") || name.equals("norm.weight")) {
      return new Shape(d);
    }
    if (name.contains("self_attn.")) {
      return new Shape(d, d);
    }
    if (name.endsWith("gate_proj.weight") || name.endsWith("up_proj.weight")) {
      return new Shape(f, d);
    }
    if (name.endsWith("down_proj.weight")) {
      return new Shape(d, f);
    }
    throw new IllegalArgumentException("not a parameter name: " + name);
  }

  /** Adds (or replaces) a parameter; the array is moved into this store's manager. */
  public void put(String name, NDArray array) {
    if (manager == null) {
      throw new IllegalStateException("cannot add to a parameter view");
    }
    array.attach(manager);
    NDArray old = arrays.put(name, array);
    if (old != null && old != array) {
      old.close();
    }
  }

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

  public Map<String, NDArray> asMap() {
    return Collections.unmodifiableMap(arrays);
  }

  public List<String> names() {
    return new ArrayList<>(arrays.keySet());
  }

  /** Checks that exactly the parameters of {@code c} are present with the right shapes and dtype. */
  public void validate(ModelConfig c, String where) {
    List<String> expected = names(c);
    for (String n : expected) {
      NDArray a = arrays.get(n);
      if (a == null) {
        throw new IllegalArgumentException(where + ": missing parameter '" + n + "'");
      }
      if (!a.getShape().equals(shapeOf(c, n))) {
        throw new IllegalArgumentException(
            where + ": parameter '" + n + "' has shape " + a.getShape() + ", config wants " + shapeOf(c, n));
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

  /** A deep copy with its own manager under {@code parent}; gradients are not copied. */
  public Params copy(NDManager parent) {
    Params p = new Params(parent);
    for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
      NDArray c = e.getValue().duplicate();
      p.put(e.getKey(), c);
    }
    return p;
  }

  /** Marks every parameter as trainable (allocates gradient buffers). */
  public void requireGradients() {
    for (NDArray a : arrays.values()) {
      a.setRequiresGradient(true);
    }
  }

  public long count() {
    long n = 0;
    for (NDArray a : arrays.values()) {
      n += a.size();
    }
    return n;
  }

  /** Host copy of one parameter as floats. */
  public float[] hostValues(String name) {
    return get(name).toFloatArray();
  }

  @Override
  public void close() {
    if (manager != null) {
      manager.close();
    }
    arrays.clear();
  }
}
