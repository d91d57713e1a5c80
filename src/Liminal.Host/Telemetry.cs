using Akka.Configuration;
using Liminal.Actors.Metrics;
using Liminal.Actors.Tracing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Liminal.Host;

/// <summary>
/// OpenTelemetry for the host: the bus's meter (<see cref="LiminalMetrics"/>) scraped as Prometheus text on
/// <c>/metrics</c>, and, when a collector is configured (<c>liminal.telemetry.otlp-endpoint</c> or the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>), metrics and the bus's spans (<see cref="LiminalTracing"/>) over OTLP.
/// </summary>
public static class Telemetry
{
    /// <summary>The HOCON key of the OTLP collector's address (empty: no OTLP export).</summary>
    public const string OtlpEndpointKey = "liminal.telemetry.otlp-endpoint";

    private const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>What is wrong with the telemetry settings of <paramref name="config"/>, with their keys.</summary>
    public static IEnumerable<string> ConfigurationProblems(Config config)
    {
        var endpoint = config.GetString(OtlpEndpointKey, "");
        if (endpoint.Length > 0 && !(Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            yield return $"{OtlpEndpointKey}: '{endpoint}' is not an http(s) URL of an OTLP collector";
    }

    /// <summary>Registers OpenTelemetry's meter provider (Prometheus exporter) and, when configured, OTLP export.</summary>
    public static WebApplicationBuilder AddLiminalTelemetry(this WebApplicationBuilder builder, Config config)
    {
        var endpoint = config.GetString(OtlpEndpointKey, "");
        // The standard variable wins over the setting; the exporter reads it from the configuration either way.
        if (endpoint.Length > 0 && string.IsNullOrEmpty(builder.Configuration[OtlpEndpointVariable]))
            builder.Configuration.AddInMemoryCollection([new(OtlpEndpointVariable, endpoint)]);
        var otlp = !string.IsNullOrEmpty(builder.Configuration[OtlpEndpointVariable]);

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("liminal"))
            .WithMetrics(metrics => metrics
                .AddMeter(LiminalMetrics.MeterName)
                // Every scrape reads the instruments now (the exporter would answer from a 300 ms cache).
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        // Without a collector nothing listens to the bus's spans, so it records none (they cost nothing then).
        if (otlp)
            telemetry.WithTracing(tracing => tracing.AddSource(LiminalTracing.SourceName)).UseOtlpExporter();
        return builder;
    }

    /// <summary>Serves the Prometheus text exposition of the bus's instruments on <c>/metrics</c>.</summary>
    public static WebApplication MapLiminalMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
