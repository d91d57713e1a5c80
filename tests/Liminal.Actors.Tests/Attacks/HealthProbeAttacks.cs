using System.Net;
using Akka.Actor;
using Akka.Hosting;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.Host;
using Liminal.Actors.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// The host's read-only health probe on a healthy SQLite journal: a brand-new file right after start, a bus writing
/// hard (WAL growing, background checkpoints), and a path the probe must read exactly as the journal does.
/// </summary>
public sealed class HealthProbeAttacks
{
    [Fact]
    public async Task Health_and_ready_are_healthy_on_the_first_probe_after_start_on_a_brand_new_database()
    {
        var port = HostSpecs.FreePort();
        var databasePath = TestDatabase.NewPath();
        Assert.False(File.Exists(databasePath));
        await HostSpecs.WithHostAsync(port, HostSpecs.Options(databasePath, port, "--liminal:dedup:shards", "2"), async (_, http) =>
        {
            Assert.Equal("Healthy\n", await http.GetStringAsync("/health"));
            Assert.Equal("Healthy\n", await http.GetStringAsync("/ready"));
        });
    }

    [Fact]
    public async Task Health_and_ready_are_healthy_on_a_database_left_by_a_clean_stop_before_anything_is_written()
    {
        var databasePath = TestDatabase.NewPath();
        var port = HostSpecs.FreePort();
        await HostSpecs.WithHostAsync(port, HostSpecs.Options(databasePath, port, "--liminal:dedup:shards", "2"), (_, _) => Task.CompletedTask);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        // No connection open: the WAL and its index are gone, which a read-only connection cannot recreate.
        Assert.False(File.Exists(databasePath + "-wal"), "the WAL outlived the last connection");
        Assert.False(File.Exists(databasePath + "-shm"), "the WAL index outlived the last connection");
        port = HostSpecs.FreePort();
        await HostSpecs.WithHostAsync(port, HostSpecs.Options(databasePath, port, "--liminal:dedup:shards", "2"), async (_, http) =>
        {
            Assert.Equal("Healthy\n", await http.GetStringAsync("/health"));
            Assert.Equal("Healthy\n", await http.GetStringAsync("/ready"));
        });
    }

    [Fact]
    public async Task Health_and_ready_stay_healthy_while_the_bus_writes_hard()
    {
        var port = HostSpecs.FreePort();
        await HostSpecs.WithHostAsync(port, HostSpecs.Options(TestDatabase.NewPath(), port, "--liminal:dedup:shards", "4"), async (app, http) =>
        {
            var bus = LiminalBus.FromRegistry(app.Services.GetRequiredService<ActorRegistry>());
            var system = app.Services.GetRequiredService<ActorSystem>();
            var channel = $"c{Guid.NewGuid():N}";
            await bus.Channels.Ask<ChannelCreated>(new CreateChannel(new ChannelDefinition(channel, Durable: true, Partitions: 4)), TimeSpan.FromSeconds(10));
            await bus.Channels.Ask<Subscribed>(new Subscribe(channel, system.ActorOf(Props.Empty)), TimeSpan.FromSeconds(10));

            // Waves of publishes, each wave probed while its writes are in flight.
            var unhealthy = new List<string>();
            var acks = 0;
            for (var wave = 0; wave < 10; wave++)
            {
                var publishes = Enumerable.Range(0, 500).Select(i =>
                {
                    var key = $"w{wave}-{i}";
                    var order = new MessageEnvelope(System.Text.Encoding.UTF8.GetBytes($$"""{"orderId":"{{key}}","amount":5}"""), "test");
                    return bus.Channels.Ask<object>(new Publish(channel, order, key), TimeSpan.FromSeconds(60));
                }).ToList();
                while (publishes.Any(p => !p.IsCompleted))
                    foreach (var endpoint in new[] { "/health", "/ready" })
                    {
                        var response = await http.GetAsync(endpoint);
                        if (response.StatusCode != HttpStatusCode.OK)
                            unhealthy.Add($"{endpoint}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                acks += (await Task.WhenAll(publishes)).Count(r => r is PublishAck);
            }
            Assert.Equal(5000, acks);
            Assert.Empty(unhealthy);
        });
    }

    [Theory]
    [InlineData("file:")]
    [InlineData("|DataDirectory|")]
    public async Task Health_probes_the_database_the_journal_writes_whatever_its_relative_path_starts_with(string prefix)
    {
        var directory = $"liminal-health-{Guid.NewGuid():N}";
        Directory.CreateDirectory(directory);
        var databasePath = $"{prefix}{directory}/liminal.db";
        var port = HostSpecs.FreePort();
        try
        {
            await HostSpecs.WithHostAsync(port, HostSpecs.Options(databasePath, port, "--liminal:dedup:shards", "2"), async (_, http) =>
            {
                Assert.True(File.Exists(Path.GetFullPath(databasePath)), "the journal's file is at the path taken as a file name");
                var response = await http.GetAsync("/health");
                Assert.True(HttpStatusCode.OK == response.StatusCode, $"{response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            });
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var leftover in new[] { directory, Path.GetDirectoryName(Path.GetFullPath(databasePath))! }.Distinct())
                if (Directory.Exists(leftover))
                    Directory.Delete(leftover, recursive: true);
        }
    }
}
