package dev.undo.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The linear probe on features whose answer is known: features that encode the label linearly are read perfectly;
 * features independent of the label give no more than always guessing the most frequent class.
 */
class ProbeFitTest {
  static final int D = 8;

  /** Labels: class 0 with probability 0.6, else 1, 2 or 3 uniformly. */
  static int[] labels(int n, SplittableRandom rnd) {
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = rnd.nextDouble() < 0.6 ? 0 : 1 + rnd.nextInt(3);
    }
    return y;
  }

  /** Noise, plus 2 × one-hot(label) in the first 4 dimensions when {@code encode}. */
  static float[][] features(int[] y, boolean encode, SplittableRandom rnd) {
    float[][] x = new float[y.length][D];
    for (int i = 0; i < y.length; i++) {
      for (int j = 0; j < D; j++) {
        x[i][j] = (float) (Init.gaussian(rnd) * (encode ? 0.3 : 1.0));
      }
      if (encode) {
        x[i][y[i]] += 2f;
      }
    }
    return x;
  }

  static double majorityByHand(int[] test) {
    int zeros = 0;
    for (int y : test) {
      zeros += y == 0 ? 1 : 0;
    }
    return (double) zeros / test.length;
  }

  @Test
  void majorityBaselineIsTheTestShareOfTheMostFrequentTrainingLabel() {
    assertEquals(0.25, Probe.majority(new int[] {0, 0, 1, 2}, new int[] {0, 1, 1, 1}));
    assertEquals(0.75, Probe.majority(new int[] {2, 2, 2, 0}, new int[] {2, 0, 2, 2}));
  }

  @Test
  void linearlyEncodedLabelsAreReadPerfectlyAndRandomFeaturesGiveTheMajorityBaseline() {
    Engines.start(1);
    SplittableRandom rnd = new SplittableRandom(4);
    int[] yTrain = labels(400, rnd);
    int[] yTest = labels(400, rnd);
    double majority = majorityByHand(yTest);
    assertEquals(majority, Probe.majority(yTrain, yTest));
    assertTrue(majority > 0.5 && majority < 0.7, "about 0.6: " + majority);
    try (NDManager m = Engines.newManager()) {
      double[] encoded = Probe.fit(features(yTrain, true, rnd), yTrain, features(yTest, true, rnd), yTest, 4, 1,
          300, 1e-2, m);
      assertEquals(1.0, encoded[0], "train accuracy");
      assertEquals(1.0, encoded[1], "test accuracy");
      double[] random = Probe.fit(features(yTrain, false, rnd), yTrain, features(yTest, false, rnd), yTest, 4, 1,
          300, 1e-2, m);
      assertEquals(majority, random[1], 0.06, "a probe on noise can at best guess the most frequent class");
      assertTrue(random[0] < 0.8, "8 noise dimensions cannot fit 400 labels: train accuracy " + random[0]);
    }
  }
}
