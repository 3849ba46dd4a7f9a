package dev.undo;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import ai.djl.ndarray.NDArray;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The package layering (docs/DESIGN.md): model and data depend on nothing in the project; a task knows its setting but
 * no stage; stages never call each other (each reads checkpoints and writes its folder); only cli wires stages.
 */
class ArchitectureTest {
  // Test classes by folder name, not ArchUnit's DO_NOT_INCLUDE_TESTS (which expects target/test-classes): the
  // spark profile builds into target/spark/.
  static final JavaClasses CLASSES = new ClassFileImporter()
      .withImportOption(location -> !location.contains("/test-classes/")).importPackages("dev.undo");

  static final List<String> STAGES = List.of("dev.undo.pretrain..", "dev.undo.unlearn..", "dev.undo.undo..",
      "dev.undo.attack..");

  @Test
  void modelAndDataAreLeaves() {
    noClasses().that().resideInAnyPackage("dev.undo.model..", "dev.undo.data..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.undo.train..", "dev.undo.eval..",
            "dev.undo.pretrain..", "dev.undo.unlearn..", "dev.undo.undo..", "dev.undo.attack..", "dev.undo.run..",
            "dev.undo.report..", "dev.undo.cli..", "dev.undo.task..", "dev.undo.stage..", "dev.undo.reproduce..")
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
  void stagesDoNotCallEachOther() {
    for (String stage : STAGES) {
      List<String> others = STAGES.stream().filter(s -> !s.equals(stage)).toList();
      noClasses().that().resideInAPackage(stage).should().dependOnClassesThat()
          .resideInAnyPackage(others.toArray(new String[0])).check(CLASSES);
    }
    noClasses().that().resideInAnyPackage(STAGES.toArray(new String[0])).should().dependOnClassesThat()
        .resideInAnyPackage("dev.undo.reproduce..", "dev.undo.report..").check(CLASSES);
  }

  @Test
  void lowerLayersKnowNoStage() {
    noClasses().that().resideInAnyPackage("dev.undo.train..", "dev.undo.eval..", "dev.undo.run..",
        "dev.undo.task..", "dev.undo.stage..").should().dependOnClassesThat()
        .resideInAnyPackage("dev.undo.pretrain..", "dev.undo.unlearn..", "dev.undo.undo..", "dev.undo.attack..",
            "dev.undo.report..", "dev.undo.reproduce..")
        .check(CLASSES);
    noClasses().that().resideInAnyPackage("dev.undo.train..", "dev.undo.eval..", "dev.undo.run..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.undo.task..", "dev.undo.stage..").check(CLASSES);
  }

  /**
   * DJL wraps a Java number passed to {@code mul/div/add/sub} in a tensor over Java memory and frees it at once;
   * autograd keeps a reference, so a backward pass through such an expression may read freed memory (wrong
   * gradients, NaN, or a native crash). Code that builds differentiated expressions uses native constants only.
   */
  @Test
  void differentiatedCodeUsesNativeScalarsOnly() {
    for (String op : List.of("mul", "div", "add", "sub")) {
      noClasses().that()
          .haveNameMatching("dev\\.undo\\.(model\\.Decoder|train\\.Losses|unlearn\\.Methods|attack\\.Lora)\\b.*")
          .should().callMethod(NDArray.class, op, Number.class)
          .check(CLASSES);
    }
  }
}
