package dev.undo.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.undo.stage.Specs;

/** Printing results as the stage folders store them. */
final class Print {
  private Print() {}

  static void json(Object result) {
    try {
      System.out.println(Specs.MAPPER.writeValueAsString(result));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
