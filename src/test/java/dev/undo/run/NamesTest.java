package dev.undo.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

class NamesTest {
  @Test
  void learningRateNamesAreShortForRoundValuesAndNeverCollide() {
    assertEquals("1e-04", Names.lr(1e-4));
    assertEquals("3e-05", Names.lr(3e-5));
    assertEquals("1.1e-04", Names.lr(1.1e-4));
    assertNotEquals(Names.lr(1.1e-4), Names.lr(1.2e-4));
    assertEquals("7e-06", Names.lr(7e-6));
    assertEquals("1.5e-03", Names.lr(0.0015));
  }
}
