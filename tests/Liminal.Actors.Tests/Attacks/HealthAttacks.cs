using System.Net;
using Liminal.Actors.Tests.Host;
using Liminal.Actors.Tests.TestSupport;
using Microsoft.Data.Sqlite;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>A database that hangs (holds every lock) rather than refuses: the health check gives up and reports it; the endpoint does not hang with it.</summary>
public sealed class HealthAttacks
{
    [Fact]
    public async Task Health_and_ready_report_a_journal_database_that_hangs_instead_of_hanging_with_it()
    {
        var port = HostSpecs.FreePort();
        var databasePath = TestDatabase.NewPath();
        await HostSpecs.WithHostAsync(port, HostSpecs.Options(databasePath, port, "--liminal:dedup:shards", "2"), async (_, http) =>
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
            // Exclusive locking mode in WAL: no other connection can even read until this one lets go.
            await using var locker = new SqliteConnection($"Data Source={databasePath};Pooling=False;Default Timeout=1");
            await locker.OpenAsync();
            await using (var hold = locker.CreateCommand())
            {
                hold.CommandText = "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; SELECT count(*) FROM sqlite_master;";
                await hold.ExecuteScalarAsync();
            }

            // Far above the check's own timeout (5 s), far below SQLite's default busy wait (30 s).
            foreach (var endpoint in new[] { "/health", "/ready" })
            {
                using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                var response = await http.GetAsync(endpoint, patience.Token);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(HttpStatusCode.ServiceUnavailable == response.StatusCode, $"{endpoint}: {response.StatusCode} {body}");
                Assert.Contains("  - journal-database: journal not reachable: ", body);
            }
        });
    }
}
