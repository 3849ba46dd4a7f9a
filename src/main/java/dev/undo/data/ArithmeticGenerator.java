package dev.undo.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Generates the arithmetic data of the arithmetic setting (docs/PROTOCOL.md, "Settings"): equations {@code a op b = c}
 * and word problems, for training documents and for the fixed evaluation sets.
 *
 * <p>Operands: addition and subtraction draw both from {@code [addSubMin, addSubMax]}, subtraction orders them so
 * the result is never negative; multiplication draws both factors from {@code [mulDivMin, mulDivMax]}; division
 * draws divisor {@code b} and quotient {@code c} from that range and asks for {@code (b*c) / b}, so it is always
 * exact. Every prompt ends in {@code "= "} (equations) or {@code "Answer: "} (word problems), the single cue after
 * which the evaluation reads the model's number.
 *
 * <p>Word problems in training documents come only from the training templates; {@link #evalSet} uses only the
 * held-out ones. Instances are immutable and thread-safe; all randomness comes from the caller's {@link Random}.
 */
public final class ArithmeticGenerator {
  /** Cue that ends every word-problem prompt. */
  public static final String ANSWER_CUE = "Answer: ";

  private static final Pattern SLOT = Pattern.compile("\\{([^{}]*)}");

  private final ArithmeticConfig config;
  private final Map<Op, List<Template>> training = new EnumMap<>(Op.class);
  private final Map<Op, List<Template>> heldOut = new EnumMap<>(Op.class);

  public ArithmeticGenerator(ArithmeticConfig config) {
    this.config = Objects.requireNonNull(config, "config");
    Set<String> seen = new HashSet<>();
    for (Op op : Op.values()) {
      training.put(op, compileAll(WordProblemTemplates.TRAINING.get(op), seen));
      heldOut.put(op, compileAll(WordProblemTemplates.HELD_OUT.get(op), seen));
    }
  }

  private static List<Template> compileAll(List<String> sources, Set<String> seen) {
    List<Template> out = new ArrayList<>();
    for (String source : sources) {
      // A template shared between the training and held-out lists would leak evaluation problems into training.
      if (!seen.add(source)) {
        throw new IllegalStateException("template listed twice: " + source);
      }
      out.add(Template.compile(source));
    }
    return List.copyOf(out);
  }

  public ArithmeticConfig config() {
    return config;
  }

  /** An equation such as {@code "6 * 7 = "} with answer {@code "42"}. */
  public Problem equation(Op op, Random rnd) {
    int[] abc = operands(op, rnd);
    String prompt = abc[0] + " " + op.symbol() + " " + abc[1] + " = ";
    return new Problem(op, Kind.EQUATION, prompt, Integer.toString(abc[2]), abc[2]);
  }

  /**
   * A word problem from a training template, or from a held-out template when {@code heldOut}; the prompt ends in
   * {@code " Answer: "}.
   */
  public Problem wordProblem(Op op, boolean heldOut, Random rnd) {
    int[] abc = operands(op, rnd);
    List<Template> templates = (heldOut ? this.heldOut : training).get(op);
    Template template = templates.get(rnd.nextInt(templates.size()));
    String prompt = template.fill(abc[0], abc[1], rnd) + " " + ANSWER_CUE;
    return new Problem(op, Kind.WORD_PROBLEM, prompt, Integer.toString(abc[2]), abc[2]);
  }

  /**
   * The fixed evaluation set of one operation and kind: {@code n} problems, word problems from held-out templates
   * only. The same {@code seed} gives the same list; the operation and kind are mixed into the seed so the eight
   * sets of one seed are independent of each other.
   */
  public List<Problem> evalSet(Op op, Kind kind, int n, long seed) {
    if (n < 0) {
      throw new IllegalArgumentException("n must be >= 0, got " + n);
    }
    Random rnd = new Random(Mix.of(seed, op.ordinal(), kind.ordinal()));
    List<Problem> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(kind == Kind.EQUATION ? equation(op, rnd) : wordProblem(op, true, rnd));
    }
    return Collections.unmodifiableList(out);
  }

  /**
   * One training problem: an operation chosen uniformly from {@code ops}, then a word problem from a training
   * template with probability {@code wordProblemFraction}, otherwise an equation.
   */
  public Problem trainingProblem(Set<Op> ops, Random rnd) {
    if (ops.isEmpty()) {
      throw new IllegalArgumentException("ops must not be empty");
    }
    // Iterating in enum order, not the set's order, keeps the draw independent of the Set implementation.
    Op chosen = null;
    int target = rnd.nextInt(ops.size());
    int i = 0;
    for (Op op : Op.values()) {
      if (ops.contains(op) && i++ == target) {
        chosen = op;
        break;
      }
    }
    if (chosen == null) {
      throw new IllegalArgumentException("ops contains a null element: " + ops);
    }
    return rnd.nextDouble() < config.wordProblemFraction()
        ? wordProblem(chosen, false, rnd)
        : equation(chosen, rnd);
  }

  /** The text of {@link #trainingProblem}: one arithmetic document. */
  public String trainingDocument(Set<Op> ops, Random rnd) {
    return trainingProblem(ops, rnd).text();
  }

  public int trainingTemplateCount(Op op) {
    return training.get(op).size();
  }

  public int heldOutTemplateCount(Op op) {
    return heldOut.get(op).size();
  }

  /** The raw template strings (see {@link WordProblemTemplates} for the placeholder syntax). */
  public List<String> templates(Op op, boolean heldOut) {
    List<String> out = new ArrayList<>();
    for (Template t : (heldOut ? this.heldOut : training).get(op)) {
      out.add(t.source);
    }
    return List.copyOf(out);
  }

  /** {a, b, a op b} within the configured ranges. */
  private int[] operands(Op op, Random rnd) {
    return switch (op) {
      case ADDITION -> {
        int a = draw(config.addSubMin(), config.addSubMax(), rnd);
        int b = draw(config.addSubMin(), config.addSubMax(), rnd);
        yield new int[] {a, b, a + b};
      }
      case SUBTRACTION -> {
        int x = draw(config.addSubMin(), config.addSubMax(), rnd);
        int y = draw(config.addSubMin(), config.addSubMax(), rnd);
        int a = Math.max(x, y);
        int b = Math.min(x, y);
        yield new int[] {a, b, a - b};
      }
      case MULTIPLICATION -> {
        int a = draw(config.mulDivMin(), config.mulDivMax(), rnd);
        int b = draw(config.mulDivMin(), config.mulDivMax(), rnd);
        yield new int[] {a, b, a * b};
      }
      case DIVISION -> {
        int b = draw(config.mulDivMin(), config.mulDivMax(), rnd);
        int c = draw(config.mulDivMin(), config.mulDivMax(), rnd);
        yield new int[] {b * c, b, c};
      }
    };
  }

  private static int draw(int min, int max, Random rnd) {
    return min + rnd.nextInt(max - min + 1);
  }

  /** A template parsed once into literal and slot parts, so filling it is a single pass with no regex. */
  private static final class Template {
    private final String source;
    private final List<Object> parts; // String literal or Slot

    private Template(String source, List<Object> parts) {
      this.source = source;
      this.parts = parts;
    }

    static Template compile(String source) {
      List<Object> parts = new ArrayList<>();
      boolean usesA = false;
      boolean usesB = false;
      Matcher m = SLOT.matcher(source);
      int last = 0;
      while (m.find()) {
        if (m.start() > last) {
          parts.add(source.substring(last, m.start()));
        }
        Slot slot = Slot.parse(m.group(1), source);
        boolean printsNumber = slot.kind.equals("a") || slot.kind.equals("b") || slot.kind.equals("noun");
        usesA |= printsNumber && slot.number == 'a';
        usesB |= printsNumber && slot.number == 'b';
        parts.add(slot);
        last = m.end();
      }
      if (last < source.length()) {
        parts.add(source.substring(last));
      }
      String literal = SLOT.matcher(source).replaceAll("");
      if (literal.contains("{") || literal.contains("}")) {
        throw new IllegalStateException("unbalanced brace in template: " + source);
      }
      // The answer must follow from the text: both operands have to be stated.
      if (!usesA || !usesB) {
        throw new IllegalStateException("template must state both operands: " + source);
      }
      if (literal.chars().anyMatch(Character::isDigit)) {
        throw new IllegalStateException("template must not contain digits of its own: " + source);
      }
      return new Template(source, List.copyOf(parts));
    }

    String fill(int a, int b, Random rnd) {
      // Draw every filler up front, in a fixed order, so the draw sequence does not depend on the template.
      String name = pick(WordProblemTemplates.NAMES, rnd);
      String name2 = pick(WordProblemTemplates.NAMES, rnd);
      while (name2.equals(name)) {
        name2 = pick(WordProblemTemplates.NAMES, rnd);
      }
      String place = pick(WordProblemTemplates.PLACES, rnd);
      String[] obj = pick(WordProblemTemplates.OBJECTS, rnd).split("\\|");
      String[] box = pick(WordProblemTemplates.CONTAINERS, rnd).split("\\|");
      String[] group = pick(WordProblemTemplates.GROUPS, rnd).split("\\|");
      StringBuilder sb = new StringBuilder(160);
      for (Object part : parts) {
        if (part instanceof String s) {
          sb.append(s);
          continue;
        }
        Slot slot = (Slot) part;
        int n = slot.number == 'a' ? a : slot.number == 'b' ? b : 0;
        String[] noun =
            switch (slot.kind) {
              case "obj" -> obj;
              case "box" -> box;
              case "group" -> group;
              case "noun" -> slot.fixedForms;
              default -> null;
            };
        if (noun == null) {
          sb.append(
              switch (slot.kind) {
                case "a" -> Integer.toString(a);
                case "b" -> Integer.toString(b);
                case "name" -> name;
                case "name2" -> name2;
                case "place" -> place;
                default -> throw new IllegalStateException("unknown slot " + slot.kind);
              });
          continue;
        }
        if (slot.kind.equals("noun")) {
          sb.append(n).append(' ');
        }
        boolean singular = slot.form == 's' || (slot.form == 'n' && n == 1);
        sb.append(singular ? noun[0] : noun[1]);
      }
      return sb.toString();
    }

    private static String pick(List<String> list, Random rnd) {
      return list.get(rnd.nextInt(list.size()));
    }
  }

  /**
   * One placeholder. {@code kind}: a, b, name, name2, place, obj, box, group or noun (a fixed noun written after its
   * number). {@code form}: 's' singular, 'p' plural, 'n' agreeing with {@code number} ('a' or 'b').
   */
  private static final class Slot {
    final String kind;
    final char number;
    final char form;
    final String[] fixedForms;

    private Slot(String kind, char number, char form, String[] fixedForms) {
      this.kind = kind;
      this.number = number;
      this.form = form;
      this.fixedForms = fixedForms;
    }

    static Slot parse(String body, String template) {
      switch (body) {
        case "a":
          return new Slot("a", 'a', '-', null);
        case "b":
          return new Slot("b", 'b', '-', null);
        case "name":
        case "name2":
        case "place":
          return new Slot(body, '-', '-', null);
        default:
          break;
      }
      String[] fixed = body.split("\\|", -1);
      if (fixed.length == 3 && (fixed[0].equals("a") || fixed[0].equals("b"))) {
        return new Slot("noun", fixed[0].charAt(0), 'n', new String[] {fixed[1], fixed[2]});
      }
      Matcher m = Pattern.compile("(obj|box|group)(?::([ab])|\\.([sp]))").matcher(body);
      if (m.matches()) {
        return m.group(2) != null
            ? new Slot(m.group(1), m.group(2).charAt(0), 'n', null)
            : new Slot(m.group(1), '-', m.group(3).charAt(0), null);
      }
      throw new IllegalStateException("unknown placeholder {" + body + "} in template: " + template);
    }
  }
}
