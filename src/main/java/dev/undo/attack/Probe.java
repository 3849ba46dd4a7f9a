package dev.undo.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Tokenizer;
import dev.undo.eval.Evaluator;
import dev.undo.model.Decoder;
import dev.undo.model.Params;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.run.SourceModel;
import dev.undo.run.TaskSpec;
import dev.undo.stage.Stage;
import dev.undo.stage.StageContext;
import dev.undo.stage.StageSpec;
import dev.undo.task.ProbeData;
import dev.undo.task.Task;
import dev.undo.task.Tasks;
import dev.undo.train.AdamW;
import dev.undo.train.Autograd;
import dev.undo.train.Checkpoint;
import dev.undo.train.Losses;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A linear-probe attack, beyond the paper's relearning: freeze the model, read the residual stream after each block
 * (and the embeddings, "layer −1"), and fit a linear classifier for forget knowledge. If unlearning only hid the
 * capability, a probe can still read it out of the hidden states; a model that never had it gives the probe nothing
 * to find.
 *
 * <ul>
 *   <li>arithmetic: from the state at the last prompt token of a × or ÷ equation, predict the first digit of the
 *       answer (10 classes). Probes train on equations outside the evaluation set and are scored on it.
 *   <li>language: from the state at a Korean text position, predict the next token. Probes train on the Korean
 *       training split and are scored on the held-out split.
 * </ul>
 * Each probe is multinomial logistic regression trained with AdamW (fixed steps, seeded), so results repeat.
 */
public final class Probe implements Stage<Probe.Spec, Probe.Result> {
  public static final Probe STAGE = new Probe();

  private Probe() {}

  /**
   * Probing one model: {@code examples} training examples, {@code steps} AdamW steps at {@code lr} per layer's
   * probe, seeded; evaluation sets from the model's task protocol and {@code eval}.
   */
  public record Spec(Path model, long seed, int examples, int steps, double lr, ExperimentConfig.EvalSpec eval)
      implements StageSpec {
    @Override
    public Map<String, Path> inputs() {
      return Map.of("model", model);
    }

    /** The defaults: 2000 examples, 300 steps at 1e-2 — enough for the probes' test accuracy to settle. */
    public static Spec of(Path model, long seed, ExperimentConfig.EvalSpec eval) {
      return new Spec(model, seed, 2000, 300, 1e-2, eval);
    }
  }

  public record LayerResult(int layer, double trainAcc, double testAcc) {}

  /** {@code probe.json}: what was probed, classes, the majority baseline, and train/test accuracy per layer. */
  public record Result(String model, String task, int classes, double majorityBaseline, List<LayerResult> layers) {}

  @Override
  public String kind() {
    return "probe";
  }

  @Override
  public Class<Spec> specType() {
    return Spec.class;
  }

  @Override
  public Class<Result> resultType() {
    return Result.class;
  }

  @Override
  public String resultFile() {
    return "probe.json";
  }

  @Override
  public Result run(Spec spec, StageContext ctx) {
    try (NDManager m = NDManager.newBaseManager(); Checkpoint.Loaded ck = Checkpoint.load(spec.model(), m);
        Decoder dec = new Decoder(ck.config(), m)) {
      TaskSpec protocol = SourceModel.task(spec.model(), ck.provenance());
      Task task = Tasks.of(protocol.setting(), protocol.data());
      ProbeData data = task.probeData(spec.eval(), spec.seed(), spec.examples());
      Examples train;
      Examples test;
      int classes;
      if (data instanceof ProbeData.Prompts pr) {
        train = promptFeatures(dec, ck.params(), ck.tokenizer(), pr.trainPrompts(), pr.trainLabels(), m);
        test = promptFeatures(dec, ck.params(), ck.tokenizer(), pr.testPrompts(), pr.testLabels(), m);
        classes = pr.classes();
      } else {
        ProbeData.NextToken nt = (ProbeData.NextToken) data;
        int seqLen = protocol.seqLen();
        train = languageFeatures(dec, ck.params(), ck.tokenizer(), nt.train(), seqLen, spec.examples(), spec.seed(),
            m);
        test = languageFeaturesHeldOut(dec, ck.params(), ck.tokenizer(), nt.heldOut(), seqLen,
            spec.examples() / 2, m);
        classes = ck.config().vocabSize();
      }
      List<LayerResult> layers = new ArrayList<>();
      for (int l = 0; l < train.features.size(); l++) {
        double[] acc = fit(train.features.get(l), train.labels, test.features.get(l), test.labels, classes,
            spec.seed() + l, spec.steps(), spec.lr(), m);
        layers.add(new LayerResult(l - 1, acc[0], acc[1]));
      }
      return new Result(spec.model().toString(), data.description(), classes, majority(train.labels, test.labels),
          layers);
    }
  }

  /** Features per layer (index 0 = embeddings) as host arrays, with labels. */
  record Examples(List<float[][]> features, int[] labels) {}

  static Examples promptFeatures(Decoder dec, Params p, Tokenizer tok, List<String> prompts, int[] labels,
      NDManager m) {
    int layers = dec.config().numLayers();
    List<float[][]> feats = new ArrayList<>();
    for (int l = 0; l <= layers; l++) {
      feats.add(new float[prompts.size()][]);
    }
    for (int i = 0; i < prompts.size(); i++) {
      int[] ids = tok.encode(prompts.get(i));
      long[] in = new long[ids.length];
      for (int j = 0; j < ids.length; j++) {
        in[j] = ids[j];
      }
      try (NDScope scope = new NDScope()) {
        NDArray x = dec.embed(p, m.create(in, new Shape(1, ids.length)));
        feats.get(0)[i] = lastPosition(x);
        for (int l = 0; l < layers; l++) {
          x = dec.block(p, l, x);
          feats.get(l + 1)[i] = lastPosition(x);
        }
      }
    }
    return new Examples(feats, labels.clone());
  }

  private static float[] lastPosition(NDArray x) {
    long t = x.getShape().get(1);
    return x.get("0, " + (t - 1)).toFloatArray();
  }

  static Examples languageFeatures(Decoder dec, Params p, Tokenizer tok, dev.undo.data.DocumentSource korean,
      int seqLen, int n, long seed, NDManager m) {
    Random rnd = new Random(seed);
    List<String> docs = new ArrayList<>();
    int chars = 0;
    while (chars < n * 3) {
      String d = korean.next(rnd);
      docs.add(d);
      chars += d.length();
    }
    return languageFeaturesHeldOut(dec, p, tok, docs, seqLen, n, m);
  }

  /** Every position of consecutive windows of the documents, up to {@code n} examples. */
  static Examples languageFeaturesHeldOut(Decoder dec, Params p, Tokenizer tok, List<String> docs, int seqLen, int n,
      NDManager m) {
    int layers = dec.config().numLayers();
    List<int[]> windows = Evaluator.windows(tok, docs, seqLen, (n + seqLen - 1) / seqLen + 1);
    List<List<float[]>> feats = new ArrayList<>();
    for (int l = 0; l <= layers; l++) {
      feats.add(new ArrayList<>());
    }
    List<Integer> labels = new ArrayList<>();
    for (int[] w : windows) {
      if (labels.size() >= n) {
        break;
      }
      long[] in = new long[seqLen];
      for (int j = 0; j < seqLen; j++) {
        in[j] = Math.max(0, w[j]);
      }
      try (NDScope scope = new NDScope()) {
        NDArray x = dec.embed(p, m.create(in, new Shape(1, seqLen)));
        List<float[]> all = new ArrayList<>();
        all.add(x.toFloatArray());
        for (int l = 0; l < layers; l++) {
          x = dec.block(p, l, x);
          all.add(x.toFloatArray());
        }
        int d = dec.config().hiddenSize();
        for (int t = 0; t < seqLen && labels.size() < n; t++) {
          if (w[t] < 0 || w[t + 1] < 0) {
            continue;
          }
          labels.add(w[t + 1]);
          for (int l = 0; l <= layers; l++) {
            float[] v = new float[d];
            System.arraycopy(all.get(l), t * d, v, 0, d);
            feats.get(l).add(v);
          }
        }
      }
    }
    List<float[][]> out = new ArrayList<>();
    for (List<float[]> f : feats) {
      out.add(f.toArray(new float[0][]));
    }
    return new Examples(out, labels.stream().mapToInt(Integer::intValue).toArray());
  }

  /** Fits softmax regression on standardised features; returns {train accuracy, test accuracy}. */
  static double[] fit(float[][] xTrain, int[] yTrain, float[][] xTest, int[] yTest, int classes, long seed,
      int steps, double lr, NDManager m) {
    int d = xTrain[0].length;
    // Standardise with training statistics so one learning rate suits every layer's scale.
    double[] mean = new double[d];
    double[] sd = new double[d];
    for (float[] r : xTrain) {
      for (int j = 0; j < d; j++) {
        mean[j] += r[j] / xTrain.length;
      }
    }
    for (float[] r : xTrain) {
      for (int j = 0; j < d; j++) {
        sd[j] += (r[j] - mean[j]) * (r[j] - mean[j]) / xTrain.length;
      }
    }
    for (int j = 0; j < d; j++) {
      sd[j] = Math.sqrt(sd[j]) + 1e-6;
    }
    try (NDManager pm = m.newSubManager()) {
      NDArray xtr = pm.create(flat(xTrain, mean, sd), new Shape(xTrain.length, d));
      NDArray xte = pm.create(flat(xTest, mean, sd), new Shape(xTest.length, d));
      Params w = new Params(pm);
      java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
      float[] init = new float[classes * d];
      for (int i = 0; i < init.length; i++) {
        init[i] = (float) (dev.undo.model.Init.gaussian(rnd) * 0.01);
      }
      w.put("probe.weight", pm.create(init, new Shape(classes, d)));
      w.put("probe.bias", pm.zeros(new Shape(classes)));
      w.requireGradients();
      Losses.Targets t = Losses.Targets.of(pm, yTrain, 1, yTrain.length);
      try (AdamW opt = new AdamW(new AdamW.Hyper(0.9, 0.999, 1e-8, 1e-3), w, w.names(), pm)) {
        for (int s = 0; s < steps; s++) {
          try (NDScope scope = new NDScope()) {
            try (Autograd gc = Autograd.record()) {
              NDArray logits = Decoder.linear(xtr, w.get("probe.weight")).add(w.get("probe.bias"))
                  .expandDims(0);
              gc.backward(Losses.crossEntropy(logits, t));
            }
            opt.step(w, lr);
            opt.zeroGradients(w);
          }
        }
      }
      return new double[] {accuracy(xtr, yTrain, w), accuracy(xte, yTest, w)};
    }
  }

  private static double accuracy(NDArray x, int[] y, Params w) {
    try (NDScope scope = new NDScope()) {
      long[] pred = Decoder.linear(x, w.get("probe.weight")).add(w.get("probe.bias")).argMax(1)
          .toType(DataType.INT64, false).toLongArray();
      int ok = 0;
      for (int i = 0; i < y.length; i++) {
        if (pred[i] == y[i]) {
          ok++;
        }
      }
      return (double) ok / y.length;
    }
  }

  private static float[] flat(float[][] x, double[] mean, double[] sd) {
    int d = mean.length;
    float[] out = new float[x.length * d];
    for (int i = 0; i < x.length; i++) {
      for (int j = 0; j < d; j++) {
        out[i * d + j] = (float) ((x[i][j] - mean[j]) / sd[j]);
      }
    }
    return out;
  }

  /** Accuracy of always predicting the most frequent training label, on the test labels. */
  static double majority(int[] train, int[] test) {
    java.util.Map<Integer, Integer> c = new java.util.HashMap<>();
    for (int y : train) {
      c.merge(y, 1, Integer::sum);
    }
    int best = c.entrySet().stream().max(java.util.Map.Entry.comparingByValue()).get().getKey();
    int ok = 0;
    for (int y : test) {
      if (y == best) {
        ok++;
      }
    }
    return (double) ok / test.length;
  }

  /** A comparison table of several probed models (one row per model, one column per layer). */
  public static ArrayNode table(List<Result> results, List<String> names) {
    ArrayNode a = Json.MAPPER.createArrayNode();
    for (int i = 0; i < results.size(); i++) {
      ObjectNode o = a.addObject();
      o.put("model", names.get(i));
      for (LayerResult l : results.get(i).layers()) {
        o.put("layer_" + l.layer(), l.testAcc());
      }
    }
    return a;
  }
}
