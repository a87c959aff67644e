package dev.oomwatch.tools;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code demo}: see {@link dev.oomwatch.demo.Demo}. */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Show a real gVisor sandbox OOM reported on its pod, against an embedded Kubernetes API.")
public final class DemoCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    return new dev.oomwatch.demo.Demo(System.out).run();
  }
}
