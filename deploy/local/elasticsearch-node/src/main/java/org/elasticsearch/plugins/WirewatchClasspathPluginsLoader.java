/*
 * wirewatch local stack: loads Elasticsearch plugins that are already on the JVM class path.
 *
 * This class lives in the org.elasticsearch.plugins package on purpose: PluginsLoader and
 * PluginBundle only have package-private constructors, and the launcher runs Elasticsearch from
 * the plain class path (unnamed module), where a class of ours in the same package can reach them.
 * The real distribution gives each plugin its own class loader built from a plugins/ or modules/
 * folder; here every plugin class is loaded by the application class loader instead.
 */
package org.elasticsearch.plugins;

import org.elasticsearch.Build;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

public final class WirewatchClasspathPluginsLoader extends PluginsLoader {

    /** A plugin to load: its name (as shown by _cat/plugins) and its main class. */
    public record ClasspathPlugin(String name, String description, Class<? extends Plugin> pluginClass) {}

    private record ClasspathLayer(PluginBundle pluginBundle, ClassLoader pluginClassLoader) implements PluginLayer {
        @Override
        public ModuleLayer pluginModuleLayer() {
            return ModuleLayer.boot();
        }
    }

    private final List<PluginLayer> layers;
    private final List<PluginDescriptor> descriptors;

    private WirewatchClasspathPluginsLoader(List<PluginLayer> layers, List<PluginDescriptor> descriptors) {
        super(Set.of(), Set.of(), Map.of());
        this.layers = layers;
        this.descriptors = descriptors;
    }

    /**
     * @param plugins   plugins whose classes are on the class path, in load order
     * @param bundleDir an (empty) folder per plugin is created under here; PluginBundle wants one
     */
    public static WirewatchClasspathPluginsLoader of(List<ClasspathPlugin> plugins, Path bundleDir) {
        List<PluginLayer> layers = new ArrayList<>();
        List<PluginDescriptor> descriptors = new ArrayList<>();
        String esVersion = Build.current().version();
        for (ClasspathPlugin p : plugins) {
            PluginDescriptor descriptor = new PluginDescriptor(
                p.name(),
                p.description(),
                esVersion,
                esVersion,
                "17",
                p.pluginClass().getName(),
                null,
                List.of(),
                false,
                false,
                false,
                false
            );
            try {
                Path dir = Files.createDirectories(bundleDir.resolve(p.name()));
                layers.add(new ClasspathLayer(new PluginBundle(descriptor, dir), p.pluginClass().getClassLoader()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            descriptors.add(descriptor);
        }
        return new WirewatchClasspathPluginsLoader(List.copyOf(layers), List.copyOf(descriptors));
    }

    // Reported as modules (like the distribution's bundled modules), not as user-installed plugins.
    @Override
    public List<PluginDescriptor> moduleDescriptors() {
        return descriptors;
    }

    @Override
    public List<PluginDescriptor> pluginDescriptors() {
        return List.of();
    }

    @Override
    public Stream<PluginLayer> pluginLayers() {
        return layers.stream();
    }
}
