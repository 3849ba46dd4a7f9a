/**
 * The {@code undo} command line: one picocli subcommand per stage, plus reproduce, report, bench, and export/import
 * (Hugging Face Gemma-2 folders, package {@code dev.undo.hf}).
 */
package dev.undo.cli;
