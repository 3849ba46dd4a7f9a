package dev.undo.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "report", mixinStandardHelpOptions = true,
    description = "Rebuild OUT/report/ (index.html, plots, CSV tables, claims.json) from a finished reproduce run.")
final class ReportCommand implements Callable<Integer> {
  @Option(names = "--run", required = true, paramLabel = "DIR", description = "A reproduce output folder.")
  Path run;

  @Override
  public Integer call() {
    writeReport(run);
    System.out.println("report: " + run.resolve("report/index.html"));
    return 0;
  }

  static void writeReport(Path run) {
    dev.undo.report.Report.write(run);
  }
}
