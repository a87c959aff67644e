# gvisor-oom-watcher: the node agent's image. Two stages: Maven builds the agent's jar, a JRE runs it.
#   docker build -t <registry>/gvisor-oom-watcher:0.1.0 .
# The chart (charts/gvisor-oom-watcher) runs it as a DaemonSet; see its README for both modes.
# Only the agent module's jar ships: the demo, benchmark, lab and test stand-ins (tools/, test-support/)
# stay out of the image.

FROM maven:3-eclipse-temurin-17 AS build
WORKDIR /src
# Dependencies first: this layer is reused until a pom.xml changes. test-support is built because the
# agent's tests depend on it (they are skipped here; CI runs them).
COPY pom.xml ./
COPY model/pom.xml model/
COPY test-support/pom.xml test-support/
COPY agent/pom.xml agent/
COPY tools/pom.xml tools/
RUN mvn -B -q -pl agent -am dependency:go-offline -DexcludeGroupIds=dev.oomwatch
COPY model/src model/src
COPY test-support/src test-support/src
COPY agent/src agent/src
RUN mvn -B -pl agent -am -DskipTests package

FROM eclipse-temurin:17-jre
LABEL org.opencontainers.image.title="gvisor-oom-watcher" \
      org.opencontainers.image.description="Reports OOM kills of gVisor (runsc) sandboxed pods on Kubernetes"
COPY --from=build /src/target/gvisor-oom-watcher.jar /app/gvisor-oom-watcher.jar
# A small footprint for an agent on every node (bench/results.md, 110 pods); the chart sets the same
# through values.jvmOptions, which overrides them.
ENV JDK_JAVA_OPTIONS="-XX:+UseSerialGC -Xms16m -Xmx64m -Xmn6m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -Xss256k -XX:MaxMetaspaceSize=64m -XX:ReservedCodeCacheSize=24m -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:+ExitOnOutOfMemoryError"
# nobody: the unprivileged mode's user; the kernel-log mode runs it as uid 0 (securityContext).
# Numeric, so that kubelet can check runAsNonRoot.
USER 65532:65532
EXPOSE 9464
ENTRYPOINT ["java", "-jar", "/app/gvisor-oom-watcher.jar"]
CMD ["agent"]
