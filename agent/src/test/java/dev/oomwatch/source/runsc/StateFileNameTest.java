package dev.oomwatch.source.runsc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class StateFileNameTest {

  static Stream<Arguments> names() {
    return Stream.of(
        Arguments.of("4a5b6c7d8e9f0a1b_sandbox:4a5b6c7d8e9f0a1b.state",
            Optional.of(new StateFileName("4a5b6c7d8e9f0a1b", "4a5b6c7d8e9f0a1b"))),
        Arguments.of("app1_sandbox:pod1.state", Optional.of(new StateFileName("app1", "pod1"))),
        // ids may hold '_', '.', '-', '+'; the separator is the last "_sandbox:"
        Arguments.of("a_sandbox_b_sandbox:c.d-e+f.state",
            Optional.of(new StateFileName("a_sandbox_b", "c.d-e+f"))),
        Arguments.of("cri-containerd-eeee5555ffff6666.scope_sandbox:cri-containerd-eeee5555ffff6666"
            + ".scope.state", Optional.of(new StateFileName("cri-containerd-eeee5555ffff6666.scope",
                "cri-containerd-eeee5555ffff6666.scope"))),
        Arguments.of("4a5b6c7d8e9f0a1b_sandbox:4a5b6c7d8e9f0a1b.lock", Optional.empty()),
        Arguments.of("4a5b6c7d8e9f0a1b_sandbox:4a5b6c7d8e9f0a1b.state.tmp", Optional.empty()),
        Arguments.of("_sandbox:x.state", Optional.empty()),
        Arguments.of("x_sandbox:.state", Optional.empty()),
        Arguments.of("x_sandbox:y:z.state", Optional.empty()),
        Arguments.of("x sandbox:y.state", Optional.empty()),
        Arguments.of("x_sandbox:y/z.state", Optional.empty()),
        Arguments.of("meta.json", Optional.empty()),
        Arguments.of(".state", Optional.empty()),
        Arguments.of("", Optional.empty()));
  }

  @ParameterizedTest
  @MethodSource("names")
  void parsesRunscStateFileNames(String fileName, Optional<StateFileName> expected) {
    assertEquals(expected, StateFileName.parse(fileName));
    expected.ifPresent(name -> assertEquals(fileName, name.fileName()));
  }
}
