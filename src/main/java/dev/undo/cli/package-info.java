/** The {@code undo} command line: one picocli subcommand per stage, plus reproduce, report and bench. */
package dev.undo.cli;
