package dev.undo.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.undo.model.Decoder;
import dev.undo.model.Engines;
import dev.undo.model.Safetensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Golden check of the Hugging Face export: {@code scripts/golden/hf_reference.py} computed the logits of the
 * committed exported folder from its files alone (transformers' Gemma-2 semantics read from config.json, the
 * tokenizer from tokenizer.json); our decoder, loading the same folder, must agree within the golden test's logit
 * tolerance, and our tokenizer must encode the script's text to the same ids. A missing fixture fails.
 */
class HfGoldenTest {
  static final Path FOLDER = Path.of("src/test/resources/golden/hf");
  static final Path LOGITS = Path.of("src/test/resources/golden/hf_logits.safetensors");
  /** The golden test's logit tolerance (model/GoldenTest.LOGIT_TOL). */
  static final double LOGIT_TOL = 2e-5;

  static NDManager manager;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() {
    manager = Engines.newManager();
  }

  @AfterAll
  static void close() {
    manager.close();
  }

  @Test
  void committedFolderIsWhatTheExporterWritesToday() throws Exception {
    assertTrue(Files.isDirectory(FOLDER), "missing fixture " + FOLDER);
    Path fresh = tmp.resolve("hf");
    HfFixture.write(fresh, manager);
    List<String> names;
    try (Stream<Path> s = Files.list(fresh)) {
      names = s.map(p -> p.getFileName().toString()).sorted().toList();
    }
    try (Stream<Path> s = Files.list(FOLDER)) {
      assertEquals(names, s.map(p -> p.getFileName().toString()).sorted().toList(), "files");
    }
    for (String n : names) {
      assertArrayEquals(Files.readAllBytes(fresh.resolve(n)), Files.readAllBytes(FOLDER.resolve(n)),
          n + " differs from a fresh export: regenerate the fixture (HfFixture, then hf_reference.py)");
    }
  }

  @Test
  void logitsMatchTheIndependentPyTorchImplementation() throws Exception {
    assertTrue(Files.isRegularFile(LOGITS), "missing fixture " + LOGITS);
    Safetensors.Contents ref = Safetensors.read(LOGITS, manager);
    HfFolder.Contents hf = HfFolder.read(FOLDER, manager, null);
    try (Decoder d = new Decoder(hf.config(), manager); NDScope scope = new NDScope()) {
      NDArray logits = d.logits(hf.params(), ref.tensors().get("tokens"));
      float[] ours = logits.toFloatArray();
      float[] theirs = ref.tensors().get("logits").toFloatArray();
      assertEquals(theirs.length, ours.length, "logit count");
      double max = 0;
      for (int i = 0; i < ours.length; i++) {
        max = Math.max(max, Math.abs(ours[i] - theirs[i]));
      }
      System.out.printf("hf golden: max |logit difference| = %.3e over %d logits%n", max, ours.length);
      assertTrue(max < LOGIT_TOL, "logits differ from hf_reference.py by " + max);

      long[] ids = ref.tensors().get("text_ids").toLongArray();
      int[] expected = new int[ids.length];
      for (int i = 0; i < ids.length; i++) {
        expected[i] = (int) ids[i];
      }
      assertArrayEquals(expected, hf.tokenizer().encode(ref.metadata().get("text")), "ids of the script's text");
    } finally {
      hf.params().close();
    }
  }
}
