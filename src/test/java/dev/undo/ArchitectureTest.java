package dev.undo;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import org.junit.jupiter.api.Test;

/** The package layering of STYLE.md: model and data depend on nothing in the project; only cli wires stages. */
class ArchitectureTest {
  // Test classes by folder name, not ArchUnit's DO_NOT_INCLUDE_TESTS (which expects target/test-classes): the
  // spark profile builds into target/spark/.
  static final JavaClasses CLASSES = new ClassFileImporter()
      .withImportOption(location -> !location.contains("/test-classes/")).importPackages("dev.undo");

  @Test
  void modelAndDataAreLeaves() {
    noClasses().that().resideInAnyPackage("dev.undo.model..", "dev.undo.data..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.undo.train..", "dev.undo.eval..",
            "dev.undo.pretrain..", "dev.undo.unlearn..", "dev.undo.undo..", "dev.undo.attack..", "dev.undo.run..",
            "dev.undo.report..", "dev.undo.cli..")
        .check(CLASSES);
    noClasses().that().resideInAPackage("dev.undo.model..").should().dependOnClassesThat()
        .resideInAPackage("dev.undo.data..").check(CLASSES);
  }

  @Test
  void onlyTheCliDependsOnTheCli() {
    noClasses().that().resideOutsideOfPackage("dev.undo.cli..").should().dependOnClassesThat()
        .resideInAPackage("dev.undo.cli..").check(CLASSES);
  }

  @Test
  void theCoreDoesNotDependOnTheSparkExecutor() {
    // dev.undo.spark exists only in the spark profile's build; the core finds it through ExecutorProvider.
    noClasses().that().resideOutsideOfPackage("dev.undo.spark..").should().dependOnClassesThat()
        .resideInAPackage("dev.undo.spark..").check(CLASSES);
  }

  @Test
  void stagesDoNotReachIntoLaterStages() {
    noClasses().that().resideInAnyPackage("dev.undo.pretrain..", "dev.undo.unlearn..").should()
        .dependOnClassesThat().resideInAnyPackage("dev.undo.undo..", "dev.undo.attack..", "dev.undo.report..")
        .check(CLASSES);
    noClasses().that().resideInAnyPackage("dev.undo.train..", "dev.undo.eval..", "dev.undo.run..").should()
        .dependOnClassesThat().resideInAnyPackage("dev.undo.pretrain..", "dev.undo.unlearn..", "dev.undo.undo..",
            "dev.undo.attack..", "dev.undo.report..")
        .check(CLASSES);
  }
}
