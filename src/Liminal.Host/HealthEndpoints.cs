using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Liminal.Actors;
using Liminal.Actors.Channels;
using Liminal.Actors.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Liminal.Host;

/// <summary><c>/health</c> (the process answers), <c>/ready</c> (journal reachable, channels loaded) and <c>/metrics</c>.</summary>
public static class HealthEndpoints
{
    public static void MapHealthEndpoints(this WebApplication app)
    {
        app.MapGet("/health", () => Results.Text("ok\n"));
        app.MapGet("/ready", async (HostConfiguration configuration, ActorRegistry registry, ActorSystem system) =>
        {
            var unmet = await UnmetReadinessAsync(configuration, registry);
            if (((ExtendedActorSystem)system).Provider.DefaultAddress.Port is null)
                unmet.Add("remote endpoint not bound");
            return unmet.Count == 0
                ? Results.Text("ready\n")
                : Results.Text("not ready:\n" + string.Concat(unmet.Select(u => $"  - {u}\n")), statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        app.MapGet("/metrics", (ActorSystem system) =>
            Results.Text(PrometheusText(LiminalMetrics.For(system).Snapshot()), "text/plain; version=0.0.4"));
    }

    private static async Task<List<string>> UnmetReadinessAsync(HostConfiguration configuration, ActorRegistry registry)
    {
        var unmet = new List<string>();
        try
        {
            await PingJournalAsync(configuration);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            unmet.Add($"journal not reachable: {error.Message}");
        }

        try
        {
            var bus = LiminalBus.FromRegistry(registry);
            var loaded = await bus.Channels.Ask<ChannelList>(GetChannels.Instance, TimeSpan.FromSeconds(3));
            var missing = configuration.Settings.Channels.Select(c => c.Name).Except(loaded.Names).ToList();
            if (missing.Count > 0)
                unmet.Add($"channels not loaded: {string.Join(", ", missing)}");
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            unmet.Add($"bus not started: {error.Message}");
        }
        return unmet;
    }

    private static async Task PingJournalAsync(HostConfiguration configuration)
    {
        if (configuration.Journal == JournalKind.Sqlite)
        {
            await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = configuration.SqlitePath, Mode = SqliteOpenMode.ReadWrite, Pooling = false,
            }.ToString());
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync();
        }
        else
        {
            await using var connection = new NpgsqlConnection(configuration.PostgreSqlConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync();
        }
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
