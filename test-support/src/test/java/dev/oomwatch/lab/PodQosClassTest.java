package dev.oomwatch.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PodQosClassTest {
  @Test
  void podCgroupPathsFollowKubeletsCgroupfsLayout() {
    assertEquals("/kubepods/podU", PodQosClass.GUARANTEED.podCgroupPath("U"));
    assertEquals("/kubepods/burstable/podU", PodQosClass.BURSTABLE.podCgroupPath("U"));
    assertEquals("/kubepods/besteffort/podU", PodQosClass.BESTEFFORT.podCgroupPath("U"));
  }
}
