package dev.undo.run;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An exclusive lock on a run or stage folder, so that two commands given the same {@code --out} cannot both write
 * it (interleaved metrics, a DONE over a half-written log). One writer per folder; a second one stops at once with
 * one line naming the holder.
 *
 * <p>Mechanism: an OS lock ({@link FileChannel#tryLock}, {@code fcntl} on Linux) on the file {@value #FILE} inside
 * the folder, which also records the holder (pid, host, command line, start time) for that message. The OS drops
 * the lock when the process ends in any way, {@code kill -9} included, so there is nothing to clean up: a lock file
 * that exists but is not locked is stale and is simply taken over ({@link #tookOverFrom()} says from whom). The file
 * is never deleted, because deleting it would let a process that opened the old file and one that creates a new one
 * both "hold" the lock; on release its content is emptied instead.
 *
 * <p>Within one JVM: OS locks belong to the process, so a second thread locking the same file would get
 * {@link OverlappingFileLockException}, and opening and closing the file again would silently release the first
 * lock (POSIX drops all of a process's locks on a file when any descriptor of it closes). So locks held by this
 * process are tracked in a table and a second acquisition is refused with "held by this process" before the file is
 * touched.
 *
 * <p>Limits: advisory (only processes that use this class are kept out); on network file systems {@code fcntl}
 * locks depend on the server and may not work.
 *
 * <pre>{@code
 * try (RunLock lock = RunLock.acquire(stageFolder)) {
 *   lock.tookOverFrom().ifPresent(h -> System.err.println("note: " + h.describe() + " ended without releasing"));
 *   ... write the stage ...
 * }
 * }</pre>
 */
public final class RunLock implements AutoCloseable {
  public static final String FILE = "LOCK";

  /** Locks this JVM holds, by real path of the lock file. */
  private static final Map<Path, RunLock> HELD = new ConcurrentHashMap<>();
  private static volatile String commandLine;

  private final Path key;
  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;
  private final Holder previous;

  /** Who holds (or held) a lock, as recorded in the lock file. Fields may be empty if the file was unreadable. */
  public record Holder(long pid, String host, String command, String started) {
    /** "pid 123 on host h (since 2025-01-01T10:00:00Z): undo pretrain …". */
    public String describe() {
      return "pid " + (pid < 0 ? "?" : pid) + " on host " + (host.isEmpty() ? "?" : host)
          + (started.isEmpty() ? "" : " (since " + started + ")") + (command.isEmpty() ? "" : ": " + command);
    }
  }

  /** Thrown when another process, or another part of this one, holds the lock. */
  public static final class BusyException extends IllegalStateException {
    private final transient Holder holder;

    public BusyException(String message, Holder holder) {
      super(message);
      this.holder = holder;
    }

    /** The recorded holder; null if it is this process. */
    public Holder holder() {
      return holder;
    }
  }

  private RunLock(Path key, Path file, FileChannel channel, FileLock lock, Holder previous) {
    this.key = key;
    this.file = file;
    this.channel = channel;
    this.lock = lock;
    this.previous = previous;
  }

  /**
   * Sets the command line recorded in lock files (the CLI sets {@code undo <args>}); defaults to this JVM's own
   * command line.
   */
  public static void setCommandLine(String line) {
    commandLine = line;
  }

  /**
   * Locks {@code folder} (created if missing) for this process, without waiting.
   *
   * @throws BusyException one line naming the holder if another process or another part of this one holds it
   */
  public static RunLock acquire(Path folder) {
    Path file;
    Path key;
    try {
      Files.createDirectories(folder);
      file = folder.resolve(FILE);
      key = folder.toRealPath().resolve(FILE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot lock " + folder + ": " + Json.describe(e), e);
    }
    synchronized (HELD) {
      if (HELD.containsKey(key)) {
        throw inThisProcess(folder);
      }
      FileChannel ch = null;
      try {
        ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock l;
        try {
          l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
          // Locked through a channel this table does not know (another class of this JVM). Closing our channel
          // would release that lock too, so leave it open: a descriptor is a small price.
          ch = null;
          throw inThisProcess(folder);
        }
        if (l == null) {
          Holder h = parse(read(ch));
          ch.close();
          throw new BusyException(folder + " is in use by " + h.describe() + "; wait for it to finish or stop it, "
              + "or choose another output folder", h);
        }
        String before = read(ch);
        Holder previous = before.isBlank() ? null : parse(before);
        ch.truncate(0);
        ch.write(ByteBuffer.wrap(record().getBytes(StandardCharsets.UTF_8)), 0);
        ch.force(true);
        RunLock r = new RunLock(key, file, ch, l, previous);
        HELD.put(key, r);
        return r;
      } catch (IOException e) {
        if (ch != null) {
          try {
            ch.close();
          } catch (IOException ignored) {
            // Already failing.
          }
        }
        throw new UncheckedIOException("cannot lock " + folder + ": " + Json.describe(e), e);
      }
    }
  }

  /** The holder recorded in a folder's lock file if the lock is held right now by another process. */
  public static Optional<Holder> holder(Path folder) {
    Path file = folder.resolve(FILE);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      if (HELD.containsKey(folder.toRealPath().resolve(FILE))) {
        return Optional.of(self());
      }
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        FileLock l = ch.tryLock();
        if (l != null) {
          l.release();
          return Optional.empty();
        }
        return Optional.of(parse(read(ch)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read lock " + file + ": " + Json.describe(e), e);
    }
  }

  /** If the lock file named a previous holder that ended without releasing (killed), who that was. */
  public Optional<Holder> tookOverFrom() {
    return Optional.ofNullable(previous);
  }

  public Path file() {
    return file;
  }

  /** Empties the lock file and releases the lock. */
  @Override
  public void close() {
    synchronized (HELD) {
      if (HELD.remove(key) != this) {
        return;
      }
      try {
        channel.truncate(0);
        lock.release();
        channel.close();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot release lock " + file + ": " + Json.describe(e), e);
      }
    }
  }

  private static BusyException inThisProcess(Path folder) {
    return new BusyException(folder + " is already in use by this process (another stage or thread of the same "
        + "command writes to it)", null);
  }

  private static String read(FileChannel ch) throws IOException {
    long size = Math.min(ch.size(), 1 << 16);
    ByteBuffer b = ByteBuffer.allocate((int) size);
    while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
      // Positional reads until full or end of file.
    }
    return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
  }

  private static String record() {
    Holder h = self();
    return "pid=" + h.pid() + "\nhost=" + h.host() + "\nstarted=" + h.started() + "\ncommand="
        + h.command().replace('\n', ' ') + "\n";
  }

  private static Holder self() {
    ProcessHandle p = ProcessHandle.current();
    String cmd = commandLine != null ? commandLine : p.info().commandLine().orElse("java");
    String started = p.info().startInstant().map(Instant::toString).orElse(Instant.now().toString());
    return new Holder(p.pid(), hostName(), cmd, started);
  }

  private static Holder parse(String text) {
    Map<String, String> kv = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        kv.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    long pid;
    try {
      pid = Long.parseLong(kv.getOrDefault("pid", "-1"));
    } catch (NumberFormatException e) {
      pid = -1;
    }
    return new Holder(pid, kv.getOrDefault("host", ""), kv.getOrDefault("command", ""),
        kv.getOrDefault("started", ""));
  }

  /** The host name without a DNS lookup where possible (a lookup can hang on a machine without network). */
  private static String hostName() {
    try {
      Path p = Path.of("/proc/sys/kernel/hostname");
      if (Files.isReadable(p)) {
        return Files.readString(p).strip();
      }
    } catch (IOException e) {
      // Fall through.
    }
    String env = System.getenv("HOSTNAME");
    if (env != null && !env.isBlank()) {
      return env;
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "";
    }
  }
}
