using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Liminal.Actors;
using Liminal.Actors.Channels;
using Liminal.Host.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Liminal.Host.Health;

/// <summary>
/// Liveness (<c>/health</c>) and readiness (<c>/ready</c>) as Akka.Hosting health checks on
/// Microsoft.Extensions.Diagnostics.HealthChecks: the actor system is alive and the journal's database answers a
/// query (both endpoints); the configured channels are loaded and the remote endpoint is bound (<c>/ready</c>).
/// </summary>
public static class LiminalHealthChecks
{
    public const string Live = "live";
    public const string Ready = "ready";

    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    public static AkkaConfigurationBuilder WithLiminalHealthChecks(this AkkaConfigurationBuilder builder, HostConfiguration configuration) =>
        builder
            .WithActorSystemLivenessCheck(tags: [Live, Ready])
            // Queried on every probe: the journal's own health follows its circuit breaker, which an idle bus never trips.
            .WithHealthCheck("journal-database", (_, _, cancel) => JournalDatabaseAsync(configuration, cancel),
                tags: [Live, Ready], timeout: CheckTimeout)
            .WithHealthCheck("channels-loaded", ChannelsLoadedAsync, tags: [Ready], timeout: CheckTimeout)
            .WithHealthCheck("remote-endpoint", (system, _, _) => Task.FromResult(RemoteEndpoint(system)), tags: [Ready]);

    public static void MapLiminalHealthChecks(this WebApplication app)
    {
        app.MapHealthChecks("/health", Options(Live));
        app.MapHealthChecks("/ready", Options(Ready));
    }

    private static HealthCheckOptions Options(string tag) => new()
    {
        Predicate = registration => registration.Tags.Contains(tag),
        ResponseWriter = WriteUnmetAsync,
    };

    /// <summary>The status, then each check that is not healthy with its description.</summary>
    private static Task WriteUnmetAsync(HttpContext context, HealthReport report)
    {
        var text = new StringBuilder($"{report.Status}\n");
        foreach (var (name, entry) in report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).OrderBy(e => e.Key))
            text.Append($"  - {name}: {entry.Description ?? entry.Exception?.Message ?? entry.Status.ToString()}\n");
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text.ToString());
    }

    private static async Task<HealthCheckResult> JournalDatabaseAsync(HostConfiguration configuration, CancellationToken cancel)
    {
        try
        {
            // Off the request's thread and abandoned at the check's timeout: Microsoft.Data.Sqlite's async calls run
            // synchronously and wait out a held lock for their busy timeout, so a database that hangs would hang the probe.
            await Task.Run(() => QueryJournalDatabaseAsync(configuration, cancel), cancel).WaitAsync(cancel);
            return HealthCheckResult.Healthy(configuration.JournalDescription);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"journal not reachable: no answer within {CheckTimeout.TotalSeconds:0} s");
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            return HealthCheckResult.Unhealthy($"journal not reachable: {error.Message}", error);
        }
    }

    private static async Task QueryJournalDatabaseAsync(HostConfiguration configuration, CancellationToken cancel)
    {
        if (configuration.Journal == JournalKind.Sqlite)
        {
            // Read-only: a probe never writes, and a vanished file fails rather than being created anew and empty.
            await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = configuration.SqlitePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false,
                DefaultTimeout = (int)CheckTimeout.TotalSeconds,
            }.ToString());
            await connection.OpenAsync(cancel);
            await using var command = connection.CreateCommand();
            // Reads the schema page: a file that is not a database fails here, where SELECT 1 would not.
            command.CommandText = "SELECT count(*) FROM sqlite_master";
            await command.ExecuteScalarAsync(cancel);
        }
        else
        {
            await using var connection = new NpgsqlConnection(configuration.PostgreSqlConnectionString);
            await connection.OpenAsync(cancel);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancel);
        }
    }

    private static async Task<HealthCheckResult> ChannelsLoadedAsync(ActorSystem system, ActorRegistry registry, CancellationToken cancel)
    {
        try
        {
            var configured = LiminalSettings.FromConfig(system.Settings.Config).Channels.Select(c => c.Name);
            var loaded = await LiminalBus.FromRegistry(registry).Channels.Ask<ChannelList>(GetChannels.Instance, CheckTimeout, cancel);
            var missing = configured.Except(loaded.Names).ToList();
            return missing.Count == 0
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"channels not loaded: {string.Join(", ", missing)}");
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            return HealthCheckResult.Unhealthy($"bus not started: {error.Message}", error);
        }
    }

    private static HealthCheckResult RemoteEndpoint(ActorSystem system) =>
        ((ExtendedActorSystem)system).Provider.DefaultAddress.Port is { } port
            ? HealthCheckResult.Healthy($"port {port}")
            : HealthCheckResult.Unhealthy("remote endpoint not bound");
}
