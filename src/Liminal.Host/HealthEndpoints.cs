using System.Globalization;
using System.Text;
using Akka.Actor;
using Liminal.Actors.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Liminal.Host;

/// <summary><c>/metrics</c> (health and readiness: <see cref="Health.LiminalHealthChecks"/>).</summary>
public static class HealthEndpoints
{
    public static void MapHealthEndpoints(this WebApplication app)
    {
        app.MapGet("/metrics", (ActorSystem system) =>
            Results.Text(PrometheusText(LiminalMetrics.For(system).Snapshot()), "text/plain; version=0.0.4"));
    }

    /// <summary>The Prometheus text exposition format, version 0.0.4.</summary>
    public static string PrometheusText(LiminalMetricsSnapshot metrics)
    {
        var text = new StringBuilder();
        void Counter(string name, string help, long value) =>
            text.Append($"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");

        Counter("liminal_publishes_total", "Publishes acknowledged (not duplicates).", metrics.Publishes);
        Counter("liminal_deliveries_total", "Messages handed to subscribers.", metrics.Deliveries);
        Counter("liminal_duplicates_suppressed_total", "Keyed publishes answered as duplicates, never delivered.", metrics.DuplicatesSuppressed);
        Counter("liminal_publish_rejections_total", "Publishes rejected with PublishRejected.", metrics.PublishRejections);
        Counter("liminal_claims_total", "Idempotency keys claimed.", metrics.Claims);
        Counter("liminal_sweep_expirations_total", "Idempotency keys expired by sweeps.", metrics.SweepExpirations);
        Counter("liminal_dedup_window_evictions_total", "Keys evicted from full channel dedup windows (a re-publish of one is stored again).", metrics.DedupWindowEvictions);

        const string histogram = "liminal_journal_write_seconds";
        text.Append($"# HELP {histogram} Duration of journal writes (group commits).\n# TYPE {histogram} histogram\n");
        var writes = metrics.JournalWrites;
        for (var i = 0; i < writes.UpperBoundsSeconds.Length; i++)
            text.Append($"{histogram}_bucket{{le=\"{writes.UpperBoundsSeconds[i].ToString(CultureInfo.InvariantCulture)}\"}} {writes.CumulativeCounts[i]}\n");
        text.Append($"{histogram}_bucket{{le=\"+Inf\"}} {writes.Count}\n");
        text.Append($"{histogram}_sum {writes.SumSeconds.ToString(CultureInfo.InvariantCulture)}\n");
        text.Append($"{histogram}_count {writes.Count}\n");
        return text.ToString();
    }
}
