# gvisor-oom-watcher: the node agent's image. Two stages: Maven builds the shaded jar, a JRE runs it.
#   docker build -t <registry>/gvisor-oom-watcher:0.1.0 .
# The chart (charts/gvisor-oom-watcher) runs it as a DaemonSet; see its README for both modes.

FROM maven:3-eclipse-temurin-17 AS build
WORKDIR /src
# Dependencies first: this layer is reused until pom.xml changes.
COPY pom.xml ./
RUN mvn -B -q dependency:go-offline
COPY src ./src
RUN mvn -B -DskipTests package

FROM eclipse-temurin:17-jre
LABEL org.opencontainers.image.title="gvisor-oom-watcher" \
      org.opencontainers.image.description="Reports OOM kills of gVisor (runsc) sandboxed pods on Kubernetes"
COPY --from=build /src/target/gvisor-oom-watcher.jar /app/gvisor-oom-watcher.jar
# A small footprint for an agent on every node (bench/results.md, 110 pods: RSS ~112 MiB with these
# flags, ~227 MiB without); the chart sets the same through values.jvmOptions, which overrides them.
ENV JDK_JAVA_OPTIONS="-XX:+UseSerialGC -Xms16m -Xmx64m -Xmn6m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -Xss256k -XX:MaxMetaspaceSize=64m -XX:ReservedCodeCacheSize=24m -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:+ExitOnOutOfMemoryError"
# nobody: the unprivileged mode's user; the kernel-log mode runs it as uid 0 (securityContext).
# Numeric, so that kubelet can check runAsNonRoot.
USER 65532:65532
EXPOSE 9464
ENTRYPOINT ["java", "-jar", "/app/gvisor-oom-watcher.jar"]
CMD ["agent"]
