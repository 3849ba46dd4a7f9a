package dev.undo.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One writer per folder: across processes (a child JVM), across threads of one process, and after kill -9. */
class RunLockTest {
  @TempDir
  Path tmp;

  /** The child process: locks the folder in args[0], says so, and holds the lock until stdin closes. */
  public static final class Child {
    public static void main(String[] args) throws IOException {
      RunLock.setCommandLine("undo pretrain --out " + args[0]);
      RunLock lock = RunLock.acquire(Path.of(args[0]));
      System.out.println("locked " + ProcessHandle.current().pid());
      System.out.flush();
      while (System.in.read() >= 0) {
        // Hold the lock until the parent closes our stdin or kills us.
      }
      lock.close();
    }
  }

  static Process spawnHolder(Path folder) throws IOException {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process p = new ProcessBuilder(java.toString(), "-Xmx64m", "-cp", cp, Child.class.getName(), folder.toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
    assertEquals("locked " + p.pid(), line, "child output");
    return p;
  }

  @Test
  void aSecondProcessStopsAtOnceNamingTheHolderAndTakesOverAfterKillDashNine() throws Exception {
    Path folder = tmp.resolve("stage");
    Process child = spawnHolder(folder);
    try {
      RunLock.BusyException e = assertThrows(RunLock.BusyException.class, () -> RunLock.acquire(folder));
      RunLock.Holder h = e.holder();
      assertEquals(child.pid(), h.pid());
      assertEquals("undo pretrain --out " + folder, h.command());
      assertFalse(h.host().isEmpty());
      assertEquals(child.info().startInstant().orElseThrow().toString(), h.started());
      assertEquals(folder + " is in use by pid " + child.pid() + " on host " + h.host() + " (since " + h.started()
          + "): undo pretrain --out " + folder + "; wait for it to finish or stop it, or choose another output "
          + "folder", e.getMessage());
      assertEquals(h, RunLock.holder(folder).orElseThrow());
    } finally {
      child.destroyForcibly(); // SIGKILL: no shutdown hook, no release, the lock file keeps its content
      assertTrue(child.waitFor(10, TimeUnit.SECONDS));
    }
    assertTrue(Files.readString(folder.resolve(RunLock.FILE)).contains("pid=" + child.pid() + "\n"));
    assertTrue(RunLock.holder(folder).isEmpty(), "the OS released the lock of the killed process");
    try (RunLock lock = RunLock.acquire(folder)) {
      assertEquals(child.pid(), lock.tookOverFrom().orElseThrow().pid());
      assertTrue(Files.readString(folder.resolve(RunLock.FILE))
          .startsWith("pid=" + ProcessHandle.current().pid() + "\n"));
    }
    assertEquals("", Files.readString(folder.resolve(RunLock.FILE)), "a clean release empties the lock file");
    try (RunLock lock = RunLock.acquire(folder)) {
      assertTrue(lock.tookOverFrom().isEmpty(), "nothing to take over after a clean release");
    }
  }

  @Test
  void aCleanExitOfTheHolderReleasesTheLock() throws Exception {
    Path folder = tmp.resolve("stage");
    Process child = spawnHolder(folder);
    child.getOutputStream().close();
    assertTrue(child.waitFor(10, TimeUnit.SECONDS));
    assertEquals(0, child.exitValue());
    try (RunLock lock = RunLock.acquire(folder)) {
      assertTrue(lock.tookOverFrom().isEmpty());
    }
  }

  @Test
  void withinOneProcessTheSecondAcquisitionIsRefusedAndTheFirstKeepsItsLock() throws Exception {
    Path folder = tmp.resolve("stage");
    try (RunLock first = RunLock.acquire(folder)) {
      RunLock.BusyException e = assertThrows(RunLock.BusyException.class, () -> RunLock.acquire(folder));
      assertEquals(folder + " is already in use by this process (another stage or thread of the same command "
          + "writes to it)", e.getMessage());
      assertNull(e.holder());
      // From another thread, and through a different spelling of the same folder.
      Path other = tmp.resolve("stage/../stage");
      RunLock.BusyException e2 = CompletableFuture.supplyAsync(() ->
          assertThrows(RunLock.BusyException.class, () -> RunLock.acquire(other))).get(10, TimeUnit.SECONDS);
      assertEquals(other + " is already in use by this process (another stage or thread of the same command "
          + "writes to it)", e2.getMessage());
      // The refused attempts did not drop the OS lock: another process still cannot take it.
      Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx64m", "-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
          Child.class.getName(), folder.toString()).redirectErrorStream(true).start();
      try {
        assertTrue(child.waitFor(20, TimeUnit.SECONDS));
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(out.contains("RunLock$BusyException: " + folder + " is in use by pid "
            + ProcessHandle.current().pid()), out);
        assertEquals(1, child.exitValue());
      } finally {
        child.destroyForcibly();
      }
    }
    try (RunLock again = RunLock.acquire(folder)) {
      assertTrue(again.tookOverFrom().isEmpty());
    }
  }
}
