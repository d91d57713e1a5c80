using Akka.Actor;
using Akka.Hosting;
using Liminal.Actors;
using Liminal.Actors.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Liminal.Host;

/// <summary><c>/health</c> (the process answers) and <c>/ready</c> (journal reachable, channels loaded); <c>/metrics</c> is <see cref="Telemetry"/>'s.</summary>
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
}
