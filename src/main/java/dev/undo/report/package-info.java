/**
 * The report: turns a finished run into the figures, tables and claim verdicts of docs/PROTOCOL.md (§Claims C1–C5
 * and §Compute).
 *
 * <ul>
 *   <li>{@link dev.undo.report.Report#write}: the entry point. Reads {@code runDir/manifest.json} and each model's
 *       {@code attack.json}, writes {@code runDir/report/}: {@code index.html} (self-contained), {@code *.png},
 *       {@code models_<setting>.csv}, {@code metrics_<setting>.csv}, {@code worst_case_<setting>.csv} and
 *       {@code claims.json}. A smoke-test run ({@code evidence: false}) is labelled as such in both.
 *   <li>{@code RunData}: the run through the pipeline's own types ({@link dev.undo.run.Manifest},
 *       {@link dev.undo.attack.Relearn.Result}); old-format manifests are rejected with a message that says so.
 *   <li>{@code Relearning}: the derived quantity everything uses, the <em>relearned fraction</em> of a model
 *       after s attack steps, (f(model, s) − f(filtered, 0)) / (f(base, 0) − f(filtered, 0)) on the adversary's
 *       running worst case as attack.json records it, and robustness = 1 − that, each with its interval.
 *   <li>{@code Stats}: intervals of derived quantities (at the corners of the measured intervals), across seeds
 *       (t-intervals), and least-squares trends.
 *   <li>{@link dev.undo.report.Claims}: one rule per claim as the paper states it, its margin a named constant and
 *       its text written next to the numbers; a verdict only where every distilled student recovered and the
 *       interval clears the line.
 *   <li>{@code Plots}: relearning curves with interval bands per method (C2), oracle vs oracle matching (C1), α vs
 *       both compute ledgers and robustness with interval bars (C3), retain/forget Pareto plots per report step
 *       with interval bars (C4), both compute ledgers per model (C5).
 * </ul>
 *
 * <p>Inputs: a run directory written by the pipeline. Outputs: files under its {@code report/} folder only. The
 * package depends on the manifest and attack result types (run, attack) and nothing else of the pipeline.
 */
package dev.undo.report;
