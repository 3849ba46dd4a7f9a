package dev.undo.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.EngineException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.run.Json;
import dev.undo.run.RunLock;
import dev.undo.train.DivergedException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every failure reaches the user as one line with the file and the cause together, and the right exit code. */
class ErrorReportingTest {
  @TempDir
  Path tmp;

  record Reported(int code, String err) {}

  static Reported report(Throwable t) {
    StringWriter w = new StringWriter();
    int code = Main.report(t, "eval", new PrintWriter(w));
    return new Reported(code, w.toString());
  }

  @Test
  void theFileAndTheCauseStayTogether() throws IOException {
    Path f = tmp.resolve("config.json");
    Files.writeString(f, "{\n  \"a\": 1,\n    x\n}\n");
    UncheckedIOException e = org.junit.jupiter.api.Assertions.assertThrows(UncheckedIOException.class,
        () -> Json.read(f, JsonNode.class));
    assertEquals(new Reported(2, "undo eval: error: cannot read " + f + ": Unexpected character ('x' (code 120)): "
        + "was expecting double-quote to start field name (line 3, column 5)\n"), report(e));
    // The wrapper used to be dropped for its cause, leaving a bare path.
    assertEquals(new Reported(2, "undo eval: error: /x/y.json: no such file\n"),
        report(new UncheckedIOException(new NoSuchFileException("/x/y.json"))));
    assertEquals(new Reported(2, "undo eval: error: cannot write /x: No space left on device\n"),
        report(new UncheckedIOException("cannot write /x", new IOException("No space left on device"))));
    assertEquals(new Reported(1, "undo eval: error: boom: inner\n"),
        report(new IllegalStateException("boom", new RuntimeException("inner"))));
    assertEquals(new Reported(1, "undo eval: error: NullPointerException\n"), report(new NullPointerException()));
  }

  @Test
  void outOfMemoryIsOneLineSuggestingASmallerBatch() {
    String hint = "; use a smaller batch size (--set <setting>.<stage>.batch_size=… or eval --batch-size …) or "
        + "give the JVM more heap (-Xmx)\n";
    assertEquals(new Reported(2, "undo eval: error: out of memory (Java heap space)" + hint),
        report(new OutOfMemoryError("Java heap space")));
    assertEquals(new Reported(2, "undo eval: error: out of memory (Java heap space)" + hint),
        report(new RuntimeException("worker failed", new OutOfMemoryError("Java heap space"))));
    assertEquals(new Reported(2, "undo eval: error: out of memory ([enforce fail at alloc_cpu.cpp:117] data. "
        + "DefaultCPUAllocator: not enough memory: you tried to allocate 68719476736 bytes.)" + hint),
        report(new IllegalStateException("stage failed", new EngineException("[enforce fail at alloc_cpu.cpp:117] "
            + "data. DefaultCPUAllocator: not enough memory: you tried to allocate 68719476736 bytes."))));
  }

  @Test
  void divergenceAndABusyFolderAreUserErrors() {
    assertEquals(2, report(new DivergedException(4, Double.NaN, Double.NaN, 1e-3)).code());
    assertEquals(new Reported(2, "undo eval: error: /r is already in use by this process\n"),
        report(new RunLock.BusyException("/r is already in use by this process", null)));
  }
}
