package dev.oomwatch.crd;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsonFormatVisitors.JsonFormatVisitorWrapper;
import com.fasterxml.jackson.databind.jsonFormatVisitors.JsonStringFormatVisitor;
import com.fasterxml.jackson.databind.jsonFormatVisitors.JsonValueFormat;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;

/**
 * Writes an RFC 3339 time held in a {@code String} field as it is, and tells schema generators that the
 * field has {@code format: date-time}: fabric8's crd-generator takes a property's format from Jackson's
 * schema visitor and has no annotation for it, and the fields stay strings so that one malformed stored
 * object cannot break deserialisation in the informer (the reconciler refuses it instead). Stateless;
 * thread-safe.
 */
public final class RfcTimestamp extends StdSerializer<String> {
  public RfcTimestamp() {
    super(String.class);
  }

  @Override
  public void serialize(String value, JsonGenerator generator, SerializerProvider provider) throws IOException {
    generator.writeString(value);
  }

  @Override
  public void acceptJsonFormatVisitor(JsonFormatVisitorWrapper visitor, JavaType hint) throws JsonMappingException {
    JsonStringFormatVisitor string = visitor.expectStringFormat(hint);
    if (string != null) {
      string.format(JsonValueFormat.DATE_TIME);
    }
  }
}
