package org.yuanrong;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.Architectures.LayeredArchitecture;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package layers of the SDK (docs/java.md, "Package layers"), checked on the compiled
 * classes, so every reference counts: imports, fully qualified names, same-package uses,
 * casts, generics in signatures. A package may use only packages of lower layers; the
 * bottom layer may be used by all. Bottom to top:
 *
 * <pre>
 *   base      org.yuanrong (Config, InvokeOptions), affinity, exception, function
 *   bridge    runtime.bridge: the py4j link, the codec, conversions, lambda resolution
 *   client    runtime.client: ObjectRef and the object calls (get, wait, put); stream (producers, consumers)
 *   handles   call (InstanceHandler, the function handlers), storage (WaitResult)
 *   programs  api (YR, the driver's entry) and runtime.worker (the worker JVM's), side by side
 * </pre>
 *
 * The bridge reaches the types above it only through interfaces it defines
 * ({@code RemoteTypes}, {@code HostCalls}) and the program entries pass in.
 */
class ArchitectureTest {
    private static final String ROOT = "org.yuanrong";

    /** Bottom to top: {layer name, packages...}. A new package must be placed here. */
    private static final String[][] LAYERS = {
        {"base", ROOT, ROOT + ".affinity", ROOT + ".exception", ROOT + ".function"},
        {"bridge", ROOT + ".runtime.bridge"},
        {"client", ROOT + ".runtime.client", ROOT + ".stream"},
        {"handles", ROOT + ".call", ROOT + ".storage"},
        {"api", ROOT + ".api"},
        {"worker", ROOT + ".runtime.worker"},
    };

    /** Layers that sit side by side with the one before them (neither may use the other). */
    private static final List<String> BESIDE_PREVIOUS = List.of("worker");

    private static JavaClasses sdk;

    @BeforeAll
    static void importSdk() {
        sdk = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages(ROOT);
    }

    private static String[] packages(String[] layer) {
        return Arrays.copyOfRange(layer, 1, layer.length);
    }

    /** The names of the layers that may use layer i: every layer above it, less its side-by-side peer. */
    private static String[] usersOf(int i) {
        List<String> users = new ArrayList<>();
        for (int j = i + 1; j < LAYERS.length; j++) {
            boolean peer = j == i + 1 && BESIDE_PREVIOUS.contains(LAYERS[j][0]);
            if (!peer) {
                users.add(LAYERS[j][0]);
            }
        }
        return users.toArray(new String[0]);
    }

    @Test
    void packagesFollowTheLayerOrder() {
        LayeredArchitecture rule = layeredArchitecture().consideringOnlyDependenciesInLayers();
        for (String[] layer : LAYERS) {
            rule = rule.layer(layer[0]).definedBy(packages(layer));
        }
        for (int i = 1; i < LAYERS.length; i++) {
            String[] users = usersOf(i);
            rule = users.length == 0 ? rule.whereLayer(LAYERS[i][0]).mayNotBeAccessedByAnyLayer()
                    : rule.whereLayer(LAYERS[i][0]).mayOnlyBeAccessedByLayers(users);
        }
        rule.check(sdk);
    }

    @Test
    void noPackageCycle() {
        slices().matching("org.(**)").should().beFreeOfCycles().check(sdk);
    }

    @Test
    void everyPackageHasALayer() {
        List<String> all = new ArrayList<>();
        for (String[] layer : LAYERS) {
            all.addAll(Arrays.asList(packages(layer)));
        }
        classes().should().resideInAnyPackage(all.toArray(new String[0])).check(sdk);
    }
}
