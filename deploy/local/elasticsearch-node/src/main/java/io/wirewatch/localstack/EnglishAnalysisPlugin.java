package io.wirewatch.localstack;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.en.EnglishMinimalStemFilter;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.apache.lucene.analysis.en.KStemFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.PreBuiltAnalyzerProviderFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.indices.analysis.PreBuiltCacheFactory.CachingStrategy;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The English analysis pieces that the Elasticsearch distribution ships in its analysis-common
 * module (not published to Maven Central for 8.x), re-implemented on top of Lucene's own
 * lucene-analysis-common classes, which the server jar already depends on.
 *
 * <ul>
 *   <li>analyzer {@code english} (settings: {@code stopwords}, {@code stopwords_path}, {@code stem_exclusion})</li>
 *   <li>token filters {@code porter_stem}, {@code kstem}, {@code stemmer} (English languages only),
 *       {@code asciifolding} ({@code preserve_original})</li>
 * </ul>
 */
public final class EnglishAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        return Map.of("english", EnglishAnalyzerProvider::new);
    }

    @Override
    public List<PreBuiltAnalyzerProviderFactory> getPreBuiltAnalyzerProviderFactories() {
        // index-less use, e.g. POST _analyze {"analyzer": "english", ...}
        return List.of(new PreBuiltAnalyzerProviderFactory("english", CachingStrategy.LUCENE, EnglishAnalyzer::new));
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "porter_stem", (indexSettings, env, name, settings) -> filter(name, settings, PorterStemFilter::new),
            "kstem", (indexSettings, env, name, settings) -> filter(name, settings, KStemFilter::new),
            "stemmer", (indexSettings, env, name, settings) -> filter(name, settings, englishStemmer(name, settings)),
            "asciifolding", (indexSettings, env, name, settings) -> {
                boolean preserveOriginal = settings.getAsBoolean("preserve_original", false);
                return new AsciiFoldingFactory(name, settings, preserveOriginal);
            }
        );
    }

    private static UnaryOperator<TokenStream> englishStemmer(String name, Settings settings) {
        String language = settings.get("language", settings.get("name", "porter")).toLowerCase(Locale.ROOT);
        return switch (language) {
            case "english", "porter" -> PorterStemFilter::new;
            case "light_english", "kstem" -> KStemFilter::new;
            case "minimal_english" -> EnglishMinimalStemFilter::new;
            case "possessive_english" -> EnglishPossessiveFilter::new;
            default -> throw new IllegalArgumentException(
                "token filter [" + name + "]: stemmer language [" + language + "] is not available in the wirewatch local node "
                    + "(only english, porter, light_english, kstem, minimal_english, possessive_english)"
            );
        };
    }

    private static TokenFilterFactory filter(String name, Settings settings, UnaryOperator<TokenStream> create) {
        return new AbstractTokenFilterFactory(name, settings) {
            @Override
            public TokenStream create(TokenStream tokenStream) {
                return create.apply(tokenStream);
            }
        };
    }

    /** Folding is per character, so (as in the distribution) it may serve keyword normalizers. */
    static final class AsciiFoldingFactory extends AbstractTokenFilterFactory
        implements org.elasticsearch.index.analysis.NormalizingTokenFilterFactory {
        private final boolean preserveOriginal;

        AsciiFoldingFactory(String name, Settings settings, boolean preserveOriginal) {
            super(name, settings);
            this.preserveOriginal = preserveOriginal;
        }

        @Override
        public TokenStream create(TokenStream tokenStream) {
            return new ASCIIFoldingFilter(tokenStream, preserveOriginal);
        }

        @Override
        public TokenStream normalize(TokenStream tokenStream) {
            return new ASCIIFoldingFilter(tokenStream, false);
        }
    }

    static final class EnglishAnalyzerProvider extends AbstractIndexAnalyzerProvider<EnglishAnalyzer> {
        private final EnglishAnalyzer analyzer;

        EnglishAnalyzerProvider(IndexSettings indexSettings, Environment env, String name, Settings settings) {
            super(name, settings);
            CharArraySet stopWords = Analysis.parseStopWords(env, settings, EnglishAnalyzer.getDefaultStopSet());
            CharArraySet stemExclusion = Analysis.parseStemExclusion(settings, CharArraySet.EMPTY_SET);
            this.analyzer = new EnglishAnalyzer(stopWords, stemExclusion);
        }

        @Override
        public EnglishAnalyzer get() {
            return analyzer;
        }
    }
}
