package dev.undo.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.undo.run.Json;
import dev.undo.run.RunLock;
import dev.undo.train.DivergedException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code undo}: one subcommand per pipeline stage, plus {@code reproduce} (the whole paper at our scale) and
 * {@code bench}. Errors print one line on stderr, {@code undo <command>: error: <what>}, keeping the file and the
 * cause together ("cannot read /x/config.json: Unexpected character … (line 3, column 5)"). Errors a user can fix
 * (bad config key or value, missing or corrupt file, a folder in use by another run, divergence, out of memory)
 * exit 2, anything else 1; set {@code UNDO_DEBUG=1} for stack traces.
 */
@Command(name = "undo", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "Robust unlearning of language models: Unlearn, Noise, Distill-on-Outputs (Lee et al., 2025).",
    subcommands = {PretrainCommand.class, EvalCommand.class, UnlearnCommand.class, DistillCommand.class, RobustifyCommand.class, RelearnCommand.class, ReproduceCommand.class, ReportCommand.class, ProbeCommand.class, BenchCommand.class, ExportCommand.class, ImportCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static void main(String[] args) {
    System.exit(execute(args));
  }

  /** Runs the CLI and returns the exit code (tests call this instead of main). */
  public static int execute(String... args) {
    RunLock.setCommandLine("undo " + String.join(" ", args));
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> report(ex, cmd.getCommandName(), cmd.getErr()));
    cl.setParameterExceptionHandler((ex, parsed) -> {
      CommandLine cmd = ex.getCommandLine();
      cmd.getErr().println("undo " + cmd.getCommandName() + ": error: " + oneLine(ex.getMessage())
          + " (see undo " + cmd.getCommandName() + " --help)");
      return 2;
    });
    try {
      return cl.execute(args);
    } catch (OutOfMemoryError e) {
      // Errors are not handed to the execution handler; the heap is free again once the stack has unwound.
      return report(e, args.length > 0 ? args[0] : "undo", cl.getErr());
    }
  }

  /** Prints {@code t} as one line and returns the exit code. */
  static int report(Throwable t, String command, PrintWriter err) {
    if (System.getenv("UNDO_DEBUG") != null) {
      t.printStackTrace();
    }
    err.println("undo " + command + ": error: " + describe(t));
    err.flush();
    return isUserError(t) ? 2 : 1;
  }

  /**
   * One line for an exception: its message and, when the message does not already say it, its cause's (so a
   * wrapper's "cannot read X" keeps the cause's "Unexpected character … (line 3, column 5)" and a cause's bare path
   * keeps the wrapper's "cannot read"). Out-of-memory, on the heap or in libtorch, becomes a hint to lower the
   * batch size.
   */
  static String describe(Throwable t) {
    Throwable oom = find(t, OutOfMemoryError.class);
    if (oom == null) {
      oom = nativeOutOfMemory(t);
    }
    if (oom != null) {
      return "out of memory (" + oneLine(String.valueOf(oom.getMessage())) + "); use a smaller "
          + "batch size (--set <setting>.<stage>.batch_size=… or eval --batch-size …) or give the JVM more heap "
          + "(-Xmx)";
    }
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      String m = ownMessage(c);
      if (m == null || sb.indexOf(m) >= 0) {
        continue;
      }
      if (c instanceof JsonProcessingException j && j.getOriginalMessage() != null
          && sb.indexOf(oneLine(j.getOriginalMessage())) >= 0) {
        continue; // a wrapper already quoted Jackson's message (with its own rendering of the location)
      }
      if (sb.length() > 0) {
        if (m.contains(sb)) {
          sb.setLength(0);
        } else {
          sb.append(": ");
        }
      }
      sb.append(m);
    }
    return sb.length() == 0 ? t.getClass().getSimpleName() : sb.toString();
  }

  /** A throwable's own message in one line, or null if it only repeats its cause ({@code new X(cause)}). */
  private static String ownMessage(Throwable c) {
    if (c instanceof JsonProcessingException) {
      return Json.describe(c);
    }
    if (c instanceof FileSystemException f && f.getFile() != null) {
      return f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ": " + Json.describe(c);
    }
    String m = c.getMessage();
    if (m == null || m.isBlank()) {
      return c.getCause() == null ? c.getClass().getSimpleName() : null;
    }
    if (c.getCause() != null && m.equals(c.getCause().toString())) {
      return null;
    }
    return oneLine(m);
  }

  private static boolean isUserError(Throwable t) {
    return t instanceof IllegalArgumentException || t instanceof IOException || t instanceof UncheckedIOException
        || t instanceof RunLock.BusyException || t instanceof DivergedException
        || find(t, OutOfMemoryError.class) != null || nativeOutOfMemory(t) != null;
  }

  /**
   * libtorch's allocator failure ("DefaultCPUAllocator: not enough memory"), surfaced as a DJL EngineException:
   * the throwable in {@code t}'s chain that reports it, or null.
   */
  private static Throwable nativeOutOfMemory(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      String m = c.getMessage();
      if (m != null && (m.contains("not enough memory") || m.contains("CUDA out of memory"))) {
        return c;
      }
    }
    return null;
  }

  private static Throwable find(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (type.isInstance(c)) {
        return c;
      }
    }
    return null;
  }

  private static String oneLine(String s) {
    return s.strip().replaceAll("\\s*\\R\\s*", " ");
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"undo " + dev.undo.run.Provenance.version()};
    }
  }
}
