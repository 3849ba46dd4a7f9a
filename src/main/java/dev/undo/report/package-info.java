/**
 * The report: turns a finished run into the figures, tables and claim verdicts of docs/PROTOCOL.md ("Claims to
 * reproduce", C1–C5, and "Compute").
 *
 * <ul>
 *   <li>{@link dev.undo.report.Report#write}: the entry point. Reads {@code runDir/manifest.json} and each model's
 *       {@code attack.json}, writes {@code runDir/report/}: {@code index.html} (self-contained), {@code *.png},
 *       {@code models_<setting>.csv}, {@code worst_case_<setting>.csv} and {@code claims.json}.
 *   <li>{@code Relearning}: the one derived quantity everything uses, the <em>relearned fraction</em> of a model
 *       after s attack steps, (f(model, s) − f(filtered, 0)) / (f(base, 0) − f(filtered, 0)) on the worst-case
 *       forget metric, and robustness = 1 − that; and compute as a percentage of the data-filtering pretrain.
 *   <li>{@link dev.undo.report.Claims}: one rule per claim, thresholds as named constants, the rule text written
 *       next to the numbers; per-seed values summarised by a mean and a 95% t-interval that the verdict uses.
 *   <li>{@code Plots}: relearning curves per method (C2), oracle vs oracle matching (C1), α vs compute and
 *       robustness (C3), retain/forget Pareto plots per report step (C4), added compute per model (C5).
 * </ul>
 *
 * <p>Inputs: a run directory written by the pipeline. Outputs: files under its {@code report/} folder only. The
 * package reads JSON and depends on no other package of the project, so it can report on any run, old or new.
 */
package dev.undo.report;
