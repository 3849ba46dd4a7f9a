import dev.undo.data.ArithmeticConfig;
import dev.undo.data.ArithmeticGenerator;
import dev.undo.data.Op;
import dev.undo.data.Problem;
import dev.undo.run.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * Writes word-problem sets for `undo eval --prompts`: per operation, N problems from the training templates
 * (train_<op>.jsonl) and N from the held-out templates (held_<op>.jsonl), operands as in the quick and standard
 * recipes (1-10). Comparing the two tells whether a model fails word problems because it has not learnt them at
 * all (both low) or because it does not transfer to new sentence frames (training high, held-out low).
 *
 * <p>Run: java -cp 'target/undo.jar:target/lib/*' scripts/WordProblemSets.java OUT_DIR [N] [SEED]
 */
public class WordProblemSets {
  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: java -cp 'target/undo.jar:target/lib/*' scripts/WordProblemSets.java OUT_DIR [N] [SEED]");
      System.exit(2);
    }
    Path out = Path.of(args[0]);
    int n = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    long seed = args.length > 2 ? Long.parseLong(args[2]) : 99;
    Files.createDirectories(out);
    ArithmeticGenerator gen = new ArithmeticGenerator(new ArithmeticConfig(1, 10, 1, 10, 0.2));
    for (boolean heldOut : new boolean[] {false, true}) {
      for (Op op : Op.values()) {
        Random rnd = new Random(seed * 31 + op.ordinal() * 2 + (heldOut ? 1 : 0));
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
          Problem p = gen.wordProblem(op, heldOut, rnd);
          sb.append(Json.LINE.createObjectNode().put("prompt", p.prompt()).put("answer", p.answer())).append('\n');
        }
        Path f = out.resolve((heldOut ? "held_" : "train_") + op.name().toLowerCase() + ".jsonl");
        Files.writeString(f, sb.toString());
      }
    }
    System.out.println("wrote 8 files of " + n + " problems to " + out);
  }
}
