using System.Diagnostics;
using System.Net;
using Liminal.Actors.Tests.Host;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>A database that hangs rather than refuses: the health check gives up at its timeout and reports it; the endpoints do not hang with it.</summary>
public sealed class HealthAttacks
{
    [Fact]
    public async Task Health_and_ready_report_a_journal_database_that_hangs_instead_of_hanging_with_it()
    {
        Assert.True(OperatingSystem.IsLinux(), "a FIFO stands in for a hanging database file: Linux only");
        var port = HostSpecs.FreePort();
        var databasePath = TestDatabase.NewPath();
        await HostSpecs.WithHostAsync(port, HostSpecs.Options(databasePath, port, "--liminal:dedup:shards", "2"), async (_, http) =>
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
            // The bus keeps its open connection; a new one opens a FIFO in the file's place, and opening it to read
            // blocks until something writes: a database (a network file system, a stuck disk) that never answers.
            // The bus's own connections meanwhile must not create a database in the moved file's place (they did).
            File.Move(databasePath, databasePath + ".moved");
            using (var mkfifo = Process.Start("mkfifo", databasePath)!)
            {
                await mkfifo.WaitForExitAsync();
                Assert.Equal(0, mkfifo.ExitCode);
            }
            try
            {
                foreach (var endpoint in new[] { "/health", "/ready" })
                {
                    // Far above the check's own timeout (5 s): only a probe that waits for the database runs into it.
                    using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    var response = await http.GetAsync(endpoint, patience.Token);
                    var body = await response.Content.ReadAsStringAsync();
                    Assert.True(HttpStatusCode.ServiceUnavailable == response.StatusCode, $"{endpoint}: {response.StatusCode} {body}");
                    Assert.Contains("  - journal-database: journal not reachable: no answer within 5 s", body);
                }
            }
            finally
            {
                // Lets the abandoned probes read something that is no database, and end (opened read-write: no wait for a reader).
                using var unblock = Process.Start("timeout", ["10", "sh", "-c", "head -c 65536 /dev/zero 1<>\"$0\"", databasePath]);
                await unblock.WaitForExitAsync();
            }
        });
    }
}
