using Liminal.Actors.Persistence;
using Npgsql;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>
/// A TestKit on the PostgreSQL server named by <c>LIMINAL_TEST_POSTGRES</c> (<c>.ci/run</c> starts one and sets it).
/// Specs call <see cref="RequireServer"/> first: without a reachable server they report themselves skipped.
/// Every spec uses ids of its own, so specs share the database without sharing state.
/// </summary>
public abstract class PostgreSqlTestKit : LiminalTestKit
{
    protected PostgreSqlTestKit() : base(JournalConfig) { }

    /// <summary>The journal configuration of the test server.</summary>
    public static Akka.Configuration.Config JournalConfig => SqlJournalConfig.PostgreSql(ConnectionString);

    /// <summary>PostgreSQL with <paramref name="overlay"/> over its journal configuration (e.g. a journal class of the test's).</summary>
    protected PostgreSqlTestKit(Akka.Configuration.Config overlay) : base(overlay.WithFallback(JournalConfig)) { }

    private static readonly string ConnectionString =
        Environment.GetEnvironmentVariable("LIMINAL_TEST_POSTGRES")
        ?? "Host=localhost;Username=liminal;Password=liminal;Database=liminal_test";

    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        try
        {
            using var connection = new NpgsqlConnection(ConnectionString + ";Timeout=3");
            connection.Open();
            return null;
        }
        catch (Exception error) when (error is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            return $"no PostgreSQL server at '{ConnectionString}' ({error.Message}); .ci/run starts one";
        }
    });

    /// <summary>A prefix that makes this spec's ids unique in the shared database.</summary>
    protected string Unique { get; } = $"t{Guid.NewGuid():N}"[..13];

    public static void RequireServer() => Skip.If(Unavailable.Value is not null, Unavailable.Value);
}
