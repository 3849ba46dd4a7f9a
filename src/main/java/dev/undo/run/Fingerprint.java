package dev.undo.run;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;

/**
 * A content fingerprint of a configuration tree, so a stage runner can tell "same inputs" (reuse DONE, resume a
 * checkpoint) from "changed inputs" (refuse, or start afresh) — the rule of Make and Bazel.
 *
 * <p>Canonical form: object keys sorted, no whitespace, numbers by value ({@code 1e-3} and {@code 0.001} are the
 * same, so is an integral float and the integer: {@code 2.0} and {@code 2}), strings as JSON strings. The
 * fingerprint is the SHA-256 of that text. {@link #differences} names the keys that differ, for the message.
 */
public final class Fingerprint {
  private Fingerprint() {}

  /** Lower-case hex SHA-256 of the canonical form of {@code tree}. */
  public static String of(JsonNode tree) {
    StringBuilder sb = new StringBuilder();
    canonical(tree, sb);
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(sb.toString().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  }

  /** The canonical text that {@link #of} hashes. */
  public static String canonical(JsonNode tree) {
    StringBuilder sb = new StringBuilder();
    canonical(tree, sb);
    return sb.toString();
  }

  /**
   * Dotted keys whose values differ between {@code a} and {@code b} (canonically), each as
   * {@code "key: old → new"}, at most {@code limit} of them, in key order.
   */
  public static List<String> differences(JsonNode a, JsonNode b, int limit) {
    List<String> out = new ArrayList<>();
    diff(a, b, "", out, limit);
    return out;
  }

  private static void diff(JsonNode a, JsonNode b, String path, List<String> out, int limit) {
    if (out.size() >= limit) {
      return;
    }
    if (a != null && b != null && a.isObject() && b.isObject()) {
      TreeSet<String> keys = new TreeSet<>();
      a.fieldNames().forEachRemaining(keys::add);
      b.fieldNames().forEachRemaining(keys::add);
      for (String k : keys) {
        diff(a.get(k), b.get(k), path.isEmpty() ? k : path + "." + k, out, limit);
      }
      return;
    }
    String ca = a == null ? "(absent)" : canonical(a);
    String cb = b == null ? "(absent)" : canonical(b);
    if (!ca.equals(cb)) {
      out.add((path.isEmpty() ? "(root)" : path) + ": " + ca + " → " + cb);
    }
  }

  private static void canonical(JsonNode n, StringBuilder sb) {
    if (n == null || n.isNull() || n.isMissingNode()) {
      sb.append("null");
    } else if (n.isObject()) {
      TreeSet<String> keys = new TreeSet<>();
      n.fieldNames().forEachRemaining(keys::add);
      sb.append('{');
      boolean first = true;
      for (String k : keys) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        sb.append(Json.LINE.getNodeFactory().textNode(k).toString()).append(':');
        canonical(n.get(k), sb);
      }
      sb.append('}');
    } else if (n.isArray()) {
      sb.append('[');
      for (Iterator<JsonNode> it = n.elements(); it.hasNext(); ) {
        canonical(it.next(), sb);
        if (it.hasNext()) {
          sb.append(',');
        }
      }
      sb.append(']');
    } else if (n.isNumber()) {
      sb.append(number(n));
    } else {
      sb.append(n.toString());
    }
  }

  /** One spelling per numeric value: integers as integers, other values by BigDecimal's plain form. */
  private static String number(JsonNode n) {
    if (n.isIntegralNumber()) {
      return n.bigIntegerValue().toString();
    }
    if (!Double.isFinite(n.asDouble())) {
      return "\"" + n.asDouble() + "\"";
    }
    java.math.BigDecimal d = n.decimalValue().stripTrailingZeros();
    if (d.scale() <= 0) {
      return d.toBigIntegerExact().toString();
    }
    return d.toPlainString();
  }
}
