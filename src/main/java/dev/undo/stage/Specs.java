package dev.undo.stage;

import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.deser.std.FromStringDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import java.nio.file.Path;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * JSON of specs and results: snake_case keys (the preset's spelling, so a mismatch names keys as a user writes
 * them), paths as plain strings, unknown keys rejected on read, indented files.
 */
public final class Specs {
  public static final ObjectMapper MAPPER = new ObjectMapper()
      .registerModule(new SimpleModule("paths")
          .addSerializer(Path.class, new ToStringSerializer(Path.class))
          .addDeserializer(Path.class, new FromStringDeserializer<Path>(Path.class) {
            @Override
            protected Path _deserialize(String value, DeserializationContext ctxt) {
              return Path.of(value);
            }
          }))
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

  private Specs() {}

  /** A record component's JSON key. */
  static String snake(String camel) {
    return ((PropertyNamingStrategies.NamingBase) PropertyNamingStrategies.SNAKE_CASE).translate(camel);
  }
}
