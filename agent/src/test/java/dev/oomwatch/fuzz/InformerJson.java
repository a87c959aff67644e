package dev.oomwatch.fuzz;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.KubernetesResourceList;
import io.fabric8.kubernetes.api.model.WatchEvent;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.ByteArrayInputStream;
import java.util.List;

/**
 * Turns the JSON of one API object into the object the agent's informers would hand it, the way
 * fabric8 7.5's informers do: a watch message ({@code {"type":"MODIFIED","object":...}}) read with the
 * client's {@link KubernetesSerialization} into a {@link WatchEvent} (and, when that fails, the event
 * and its object read separately, as {@code AbstractWatchManager} retries it), the object converted to
 * the watched type if it is another; or a list response ({@code {"kind":"PodList","items":[...]}}) read
 * from a stream, as the informer's (re)list does.
 *
 * <p>fabric8 refuses a message it cannot read (the watch is closed and the informer lists again) with
 * one of the exceptions {@link #isDocumentedRefusal} accepts; those give {@code null} here. Any other
 * exception is thrown: the fuzz property then fails on it. Thread-safe (the serialization is).
 */
public final class InformerJson {
  /** What {@code new KubernetesClientBuilder().build()} uses: a fresh default serialization. */
  public static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private InformerJson() {}

  /** The object a watch message carrying {@code objectJson} delivers, or null when fabric8 refuses it. */
  public static <T extends HasMetadata> T fromWatch(String objectJson, Class<T> type) {
    try {
      return watchObject("{\"type\":\"MODIFIED\",\"object\":" + objectJson + "}", type);
    } catch (RuntimeException e) {
      if (isDocumentedRefusal(e)) {
        return null;
      }
      throw e;
    }
  }

  /** The single item a list response holding {@code objectJson} delivers, or null when fabric8 refuses it. */
  public static <T extends HasMetadata, L extends KubernetesResourceList<T>> T fromList(String objectJson,
      String listKind, TypeReference<L> listType) {
    String body = "{\"apiVersion\":\"v1\",\"kind\":\"" + listKind + "\",\"metadata\":{\"resourceVersion\":\"1\"},"
        + "\"items\":[" + objectJson + "]}";
    try {
      L list = SERIALIZATION.unmarshal(new ByteArrayInputStream(body.getBytes(UTF_8)), listType);
      List<T> items = list == null ? null : list.getItems();
      return items == null || items.isEmpty() ? null : items.get(0);
    } catch (RuntimeException e) {
      if (isDocumentedRefusal(e)) {
        return null;
      }
      throw e;
    }
  }

  /** The object a GET of one object answering {@code objectJson} delivers, or null when fabric8 refuses it. */
  public static <T extends HasMetadata> T fromGet(String objectJson, Class<T> type) {
    try {
      return SERIALIZATION.unmarshal(new ByteArrayInputStream(objectJson.getBytes(UTF_8)), type);
    } catch (RuntimeException e) {
      if (isDocumentedRefusal(e)) {
        return null;
      }
      throw e;
    }
  }

  private static <T extends HasMetadata> T watchObject(String message, Class<T> type) {
    WatchEvent event;
    try {
      event = SERIALIZATION.unmarshal(message, WatchEvent.class);
    } catch (Exception e) {
      // AbstractWatchManager.contextAwareWatchEventDeserializer: the event without its object, then the
      // object as the watched type
      JsonNode tree = SERIALIZATION.unmarshal(message, JsonNode.class);
      JsonNode object = null;
      if (tree instanceof ObjectNode node && node.has("object")) {
        object = node.remove("object");
      }
      event = SERIALIZATION.convertValue(tree, WatchEvent.class);
      event.setObject(SERIALIZATION.convertValue(object, type));
    }
    Object object = event.getObject();
    if (!(object instanceof HasMetadata)) {
      return null; // "Invalid object received": fabric8 closes the watch
    }
    // AbstractWatchManager.eventReceived: an object of another kind is converted to the watched type
    return type.isInstance(object) ? type.cast(object) : SERIALIZATION.convertValue(object, type);
  }

  /**
   * The exceptions fabric8 throws for a message it cannot read, and handles itself (closing the watch,
   * listing again): {@link KubernetesClientException} (its wrapper of Jackson's I/O and parse errors),
   * Jackson's {@link IllegalArgumentException} from {@code convertValue}, and {@link ClassCastException}
   * ("Received wrong type of object for watch").
   */
  public static boolean isDocumentedRefusal(Throwable e) {
    return e instanceof KubernetesClientException || e instanceof IllegalArgumentException
        || e instanceof ClassCastException;
  }

  /** The JSON fabric8 writes for {@code resource} (what the informer's cache holds, written back). */
  public static String json(KubernetesResource resource) {
    return SERIALIZATION.asJson(resource);
  }
}
