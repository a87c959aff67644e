package dev.oomwatch.app;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RequestHeadTest {

  private static int endOf(String head) {
    byte[] bytes = head.getBytes(ISO_8859_1);
    return RequestHead.endOfHead(bytes, bytes.length);
  }

  private static Optional<RequestHead> parse(String head) {
    byte[] bytes = head.getBytes(ISO_8859_1);
    return RequestHead.parse(bytes, bytes.length);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "GET /he                                                  | -1",
      "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n                 | -1",
      "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n           | 34",
      "GET /healthz HTTP/1.1\\nHost: x\\n\\n                    | 31",
      "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET /metrics | 34",
  })
  void findsTheEndOfAHead(String head, int end) {
    assertEquals(end, endOf(head.replace("\\r", "\r").replace("\\n", "\n")));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "none", value = {
      "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                  | GET  | /healthz | false",
      "HEAD /readyz?verbose=1 HTTP/1.0\\r\\n\\r\\n                     | HEAD | /readyz  | false",
      "GET /metrics HTTP/1.1\\r\\ncontent-length: 0\\r\\n\\r\\n        | GET  | /metrics | false",
      "POST /metrics HTTP/1.1\\r\\nContent-Length: 12\\r\\n\\r\\n      | POST | /metrics | true",
      "GET /metrics HTTP/1.1\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n | GET | /metrics | true",
      "GET /healthz\\r\\n\\r\\n                                        | none | none     | false",
      "GET healthz HTTP/1.1\\r\\n\\r\\n                                | none | none     | false",
      "GET /healthz HTTP/2\\r\\n\\r\\n                                 | none | none     | false",
      "GET  /healthz HTTP/1.1\\r\\n\\r\\n                              | none | none     | false",
      "GET /healthz HTTP/1.1\\r\\nno colon\\r\\n\\r\\n                 | none | none     | false",
      "\\r\\n\\r\\n                                                    | none | none     | false",
  })
  void parsesWhatTheEndpointsNeed(String head, String method, String path, boolean hasBody) {
    Optional<RequestHead> parsed = parse(head.replace("\\r", "\r").replace("\\n", "\n"));
    assertEquals(method == null ? Optional.empty() : Optional.of(new RequestHead(method, path, hasBody)), parsed);
  }
}
