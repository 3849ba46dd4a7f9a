package dev.undo.cli;

import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code undo}: one subcommand per pipeline stage, plus {@code reproduce} (the whole paper at our scale) and
 * {@code bench}. Errors a user can fix (bad config key, missing file) print one line naming the problem and exit
 * 2; set {@code UNDO_DEBUG=1} for stack traces.
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
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      if (System.getenv("UNDO_DEBUG") != null) {
        ex.printStackTrace();
      }
      Throwable t = ex;
      if (t instanceof UncheckedIOException && t.getCause() != null) {
        t = t.getCause();
      }
      String msg = t.getMessage() == null ? t.toString() : t.getMessage();
      cmd.getErr().println("undo " + cmd.getCommandName() + ": error: " + msg.lines().findFirst().orElse(msg));
      return (t instanceof IllegalArgumentException || t instanceof java.io.IOException
          || t instanceof UncheckedIOException) ? 2 : 1;
    });
    return cl.execute(args);
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"undo " + dev.undo.run.Provenance.version()};
    }
  }
}
