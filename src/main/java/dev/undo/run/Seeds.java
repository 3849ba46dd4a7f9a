package dev.undo.run;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Every random stream of a run is drawn from a seed derived from the run seed and a purpose string
 * ("pretrain/init", "pretrain/data", "noise", ...), so stages never share a stream and any one can be replayed
 * alone. Derivation is SHA-256, stable across JVMs and versions.
 */
public final class Seeds {
  private Seeds() {}

  public static long derive(long runSeed, String purpose) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] h = md.digest((runSeed + ":" + purpose).getBytes(StandardCharsets.UTF_8));
      long v = 0;
      for (int i = 0; i < 8; i++) {
        v = (v << 8) | (h[i] & 0xff);
      }
      return v;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
