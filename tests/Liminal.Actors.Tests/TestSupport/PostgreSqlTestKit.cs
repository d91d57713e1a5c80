using Liminal.Actors.Persistence;
using Npgsql;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>
/// A TestKit on the PostgreSQL server of <see cref="PostgreSqlServer"/>. Specs call <see cref="RequireServer"/> first.
/// Every spec uses ids of its own, so specs share the database without sharing state.
/// </summary>
public abstract class PostgreSqlTestKit : LiminalTestKit
{
    protected PostgreSqlTestKit() : base(PostgreSqlServer.JournalConfig) { }

    /// <summary>PostgreSQL with <paramref name="overlay"/> over its journal configuration (e.g. a journal class of the test's).</summary>
    protected PostgreSqlTestKit(Akka.Configuration.Config overlay) : base(overlay.WithFallback(PostgreSqlServer.JournalConfig)) { }

    /// <summary>A prefix that makes this spec's ids unique in the shared database.</summary>
    protected string Unique { get; } = $"t{Guid.NewGuid():N}"[..13];

    protected static void RequireServer() => PostgreSqlServer.Require();
}

/// <summary>
/// The PostgreSQL server the PostgreSQL specs run against: <c>LIMINAL_TEST_POSTGRES</c>, else the role and database
/// <c>.ci/run</c> creates on localhost.
/// </summary>
public static class PostgreSqlServer
{
    /// <summary>The journal configuration of the test server.</summary>
    public static Akka.Configuration.Config JournalConfig => SqlJournalConfig.PostgreSql(ConnectionString);

    public static string ConnectionString { get; } =
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

    /// <summary>
    /// Without a reachable server the calling spec reports itself skipped, with the reason; under <c>CI=true</c> it
    /// fails instead: CI starts the server, so a missing one means a broken CI run, which must not pass by skipping.
    /// </summary>
    public static void Require()
    {
        if (Unavailable.Value is not { } reason)
            return;
        if (Environment.GetEnvironmentVariable("CI") == "true")
            Assert.Fail($"CI=true, so the PostgreSQL specs must run, but there is {reason}");
        Skip.If(true, reason);
    }
}
