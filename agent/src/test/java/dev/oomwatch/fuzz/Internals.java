package dev.oomwatch.fuzz;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reaches the package-private parsers (most of them are: {@code MemoryFileParser},
 * {@code RunscStateFileParser}, {@code PrometheusText}, ...) from this package by reflection, so that
 * the fuzz tests live in one place without widening the production API. If a class or member is
 * renamed, the lookup fails with "the API of ... changed" and the fuzz test must follow.
 */
public final class Internals {

  private static final Map<Class<?>, Map<String, Method>> ACCESSORS = new ConcurrentHashMap<>();

  private Internals() {}

  public static Class<?> type(String name) {
    try {
      return Class.forName(name);
    } catch (ClassNotFoundException e) {
      throw changed(name, e);
    }
  }

  /** The static or instance method {@code name(params)} of {@code owner}, made callable. */
  public static MethodHandle method(Class<?> owner, String name, Class<?>... params) {
    try {
      Method method = owner.getDeclaredMethod(name, params);
      method.setAccessible(true);
      return MethodHandles.lookup().unreflect(method);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw changed(owner.getName() + "." + name, e);
    }
  }

  public static MethodHandle constructor(Class<?> owner, Class<?>... params) {
    try {
      Constructor<?> constructor = owner.getDeclaredConstructor(params);
      constructor.setAccessible(true);
      return MethodHandles.lookup().unreflectConstructor(constructor);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw changed(owner.getName() + " constructor", e);
    }
  }

  /** The value of the static field {@code name} of {@code owner}. */
  public static Object constant(Class<?> owner, String name) {
    try {
      Field field = owner.getDeclaredField(name);
      field.setAccessible(true);
      return field.get(null);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw changed(owner.getName() + "." + name, e);
    }
  }

  /** The component {@code name} of the record {@code record}. */
  public static Object component(Object record, String name) {
    Method accessor = ACCESSORS.computeIfAbsent(record.getClass(), Internals::accessors).get(name);
    if (accessor == null) {
      throw changed(record.getClass().getName() + "." + name, null);
    }
    try {
      return accessor.invoke(record);
    } catch (ReflectiveOperationException e) {
      throw changed(record.getClass().getName() + "." + name, e);
    }
  }

  private static Map<String, Method> accessors(Class<?> type) {
    if (!type.isRecord()) {
      throw changed(type.getName() + " (no longer a record)", null);
    }
    Map<String, Method> accessors = new ConcurrentHashMap<>();
    for (RecordComponent component : type.getRecordComponents()) {
      Method accessor = component.getAccessor();
      accessor.setAccessible(true);
      accessors.put(component.getName(), accessor);
    }
    return accessors;
  }

  private static IllegalStateException changed(String what, Throwable cause) {
    return new IllegalStateException("the API of " + what + " changed (or is gone): adapt the fuzz test", cause);
  }
}
