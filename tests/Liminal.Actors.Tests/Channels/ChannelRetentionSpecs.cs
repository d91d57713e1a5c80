using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Dedup;
using Liminal.Actors.Metrics;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Channels;

/// <summary>
/// Channel retention on SQLite files on disk (SPEC §3: only retention deletes, explicitly): a durable channel's
/// <c>max-messages-per-partition</c> and <c>max-age</c>, <see cref="PurgeChannel"/>, and what <see cref="Replay"/>, the
/// sequence and the key window show of it, also after a restart.
/// </summary>
public sealed class ChannelRetentionSpecs : LiminalTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private LiminalSettings With(ChannelDefinition channel, long snapshotEvery = 10_000) =>
        DefaultSettings with { Channels = [channel], SnapshotEvery = (int)snapshotEvery };

    // A partition key per partition of a channel of `partitions` partitions.
    private static string PartitionKeyOf(int partition, int partitions) =>
        Enumerable.Range(0, 1000).Select(i => $"pk-{i}").First(key => DedupKeys.ShardOf(key, partitions) == partition);

    private static Publish Message(string channel, long n, int partition = 0, int partitions = 1, string? key = null) =>
        new(channel, new MessageEnvelope(ChannelReading.Payload(key, n), "shop"), key) { PartitionKey = PartitionKeyOf(partition, partitions) };

    /// <summary>What a <see cref="Replay"/> from <paramref name="from"/> hands over: the sequence numbers and <see cref="ReplayCompleted.LastSequenceNr"/>.</summary>
    private (List<long> SequenceNrs, long Last) Read(ActorSystem system, IActorRef channels, string channel, int partition, long from = 1)
    {
        var reader = CreateTestProbe(system);
        channels.Tell(new Replay(channel, partition, from, reader.Ref), reader.Ref);
        var sequenceNrs = new List<long>();
        while (true)
        {
            switch (reader.ExpectMsg<object>(Patience))
            {
                case Delivery delivery:
                    sequenceNrs.Add(delivery.SequenceNr!.Value);
                    break;
                case ReplayCompleted completed:
                    system.Stop(reader.Ref);
                    return (sequenceNrs, completed.LastSequenceNr);
                case var other:
                    Assert.Fail($"replay answered {other}");
                    break;
            }
        }
    }

    private static void AssertRead(long[] sequenceNrs, long last, (List<long> SequenceNrs, long Last) read)
    {
        Assert.Equal(sequenceNrs, read.SequenceNrs);
        Assert.Equal(last, read.Last);
    }

    private void AwaitLog(ActorSystem system, IActorRef channels, string channel, int partition, long[] expected) =>
        AwaitAssert(() => Assert.Equal(expected, Read(system, channels, channel, partition).SequenceNrs), Patience, TimeSpan.FromMilliseconds(100));

    private static long[] Range(long from, long to) => [.. Enumerable.Range((int)from, (int)(to - from + 1)).Select(n => (long)n)];

    [Fact]
    public void Max_messages_retention_keeps_exactly_the_newest_N_per_partition_across_a_restart()
    {
        var settings = With(new ChannelDefinition("orders", Durable: true, Partitions: 2) { MaxMessagesPerPartition = 3 });
        using var metrics = LiminalMetrics.For(Sys).Listen();
        var bus = LiminalBus.Start(Sys, settings);
        for (var n = 1; n <= 10; n++)
            Ask<PublishAck>(bus.Channels, Message("orders", n, partition: 0, partitions: 2));
        for (var n = 1; n <= 5; n++)
            Ask<PublishAck>(bus.Channels, Message("orders", n, partition: 1, partitions: 2));

        AwaitLog(Sys, bus.Channels, "orders", 0, [8, 9, 10]);
        AwaitLog(Sys, bus.Channels, "orders", 1, [3, 4, 5]);
        // A replay from a deleted position starts at the first retained message; its end is the log's last position.
        AssertRead([8, 9, 10], 10, Read(Sys, bus.Channels, "orders", 0, from: 2));
        AwaitAssert(() => Assert.Equal(7 + 2, metrics.Counter(LiminalMetrics.RetentionDeletions, "orders")), Patience);
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, settings);
            var probe = CreateTestProbe(restarted);
            AssertRead([8, 9, 10], 10, Read(restarted, recovered.Channels, "orders", 0));
            Assert.Equal(11, Ask<PublishAck>(recovered.Channels, Message("orders", 11, partition: 0, partitions: 2), probe).SequenceNr);
            AwaitLog(restarted, recovered.Channels, "orders", 0, [9, 10, 11]);
            AwaitLog(restarted, recovered.Channels, "orders", 1, [3, 4, 5]);
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    [Fact]
    public void Max_age_on_the_fake_clock_deletes_what_is_older_and_nothing_newer_also_after_a_restart_from_a_snapshot()
    {
        // A snapshot every 2 messages: the restart recovers the age index from a snapshot, not only from the log.
        var settings = With(new ChannelDefinition("orders", Durable: true) { MaxAge = TimeSpan.FromHours(1) }, snapshotEvery: 2);
        var bus = LiminalBus.Start(Sys, settings);
        for (var n = 1; n <= 3; n++)
            Ask<PublishAck>(bus.Channels, Message("orders", n));
        Clock.Advance(TimeSpan.FromMinutes(30));
        for (var n = 4; n <= 5; n++)
            Ask<PublishAck>(bus.Channels, Message("orders", n));
        Clock.Advance(TimeSpan.FromMinutes(31));

        // Messages 1-3 are 61 minutes old, 4-5 are 31: the timer's check deletes the first three only.
        AwaitLog(Sys, bus.Channels, "orders", 0, [4, 5]);
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, settings);
            var probe = CreateTestProbe(restarted);
            AssertRead([4, 5], 5, Read(restarted, recovered.Channels, "orders", 0));
            Assert.Equal(6, Ask<PublishAck>(recovered.Channels, Message("orders", 6), probe).SequenceNr);
            Clock.Advance(TimeSpan.FromMinutes(30));
            // 4-5 are 61 minutes old now, 6 is 30.
            AwaitLog(restarted, recovered.Channels, "orders", 0, [6]);
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    [Fact]
    public void Purge_answers_the_next_sequence_number_of_every_partition_which_the_next_publish_gets_also_after_a_restart()
    {
        var settings = With(new ChannelDefinition("orders", Durable: true, Partitions: 2), snapshotEvery: 2);
        var bus = LiminalBus.Start(Sys, settings);
        for (var n = 1; n <= 3; n++)
            Ask<PublishAck>(bus.Channels, Message("orders", n, partition: 0, partitions: 2, key: $"k{n}"));
        for (var n = 1; n <= 2; n++)
            Ask<PublishAck>(bus.Channels, Message("orders", n, partition: 1, partitions: 2));

        Assert.Equal(new ChannelPurged("orders", [4, 3]), Ask<ChannelPurged>(bus.Channels, new PurgeChannel("orders")));
        AssertRead([], 3, Read(Sys, bus.Channels, "orders", 0));
        AssertRead([], 2, Read(Sys, bus.Channels, "orders", 1));
        Assert.Equal(4, Ask<PublishAck>(bus.Channels, Message("orders", 4, partition: 0, partitions: 2)).SequenceNr);
        // A key whose message was purged is forgotten with it: published again, it is a new message.
        var again = Ask<PublishAck>(bus.Channels, Message("orders", 1, partition: 0, partitions: 2, key: "k1"));
        Assert.Equal((false, 5L), (again.Duplicate, again.SequenceNr!.Value));
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, settings);
            var probe = CreateTestProbe(restarted);
            // Replay starts at the first retained message.
            AssertRead([4, 5], 5, Read(restarted, recovered.Channels, "orders", 0));
            Assert.Equal(3, Ask<PublishAck>(recovered.Channels, Message("orders", 3, partition: 1, partitions: 2), probe).SequenceNr);
            Assert.Equal(new ChannelPurged("orders", [6, 4]), Ask<ChannelPurged>(recovered.Channels, new PurgeChannel("orders"), probe));
            Assert.Equal(6, Ask<PublishAck>(recovered.Channels, Message("orders", 6, partition: 0, partitions: 2, key: "k6"), probe).SequenceNr);
            AssertRead([6], 6, Read(restarted, recovered.Channels, "orders", 0, from: 1));
        }
        finally
        {
            Shutdown(restarted);
        }

        // A restart right after a purge, with the snapshot taken before it: nothing purged comes back.
        var again2 = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(again2, settings);
            var probe = CreateTestProbe(again2);
            Assert.Equal(new ChannelPurged("orders", [7, 4]), Ask<ChannelPurged>(recovered.Channels, new PurgeChannel("orders"), probe));
            Shutdown(again2);
            var third = StartSystemOnSameDatabase();
            try
            {
                var after = LiminalBus.Start(third, settings);
                AssertRead([], 6, Read(third, after.Channels, "orders", 0));
                // The snapshot before the purge held k6: the key went with its message all the same.
                var k6 = Ask<PublishAck>(after.Channels, Message("orders", 7, partition: 0, partitions: 2, key: "k6"), CreateTestProbe(third));
                Assert.Equal((false, 7L), (k6.Duplicate, k6.SequenceNr!.Value));
            }
            finally
            {
                Shutdown(third);
            }
        }
        finally
        {
            Shutdown(again2);
        }
    }

    [Fact]
    public void Purge_of_an_ephemeral_or_unknown_channel_is_rejected_typed()
    {
        var bus = LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition("pings", Durable: false)] });

        Assert.Contains("durable", Ask<ChannelRejected>(bus.Channels, new PurgeChannel("pings")).Reason);
        Assert.Contains("no channel named", Ask<ChannelRejected>(bus.Channels, new PurgeChannel("nope")).Reason);
    }

    public static TheoryData<ChannelDefinition, string> BadLimits() => new()
    {
        { new ChannelDefinition("a", Durable: true) { MaxAge = TimeSpan.Zero }, "max-age" },
        { new ChannelDefinition("b", Durable: true) { MaxAge = TimeSpan.FromSeconds(-5) }, "max-age" },
        { new ChannelDefinition("c", Durable: true) { MaxMessagesPerPartition = 0 }, "max-messages-per-partition" },
        { new ChannelDefinition("d", Durable: false) { MaxMessagesPerPartition = 10 }, "durable" },
        { new ChannelDefinition("e", Durable: false) { MaxAge = TimeSpan.FromHours(1) }, "durable" },
    };

    [Theory]
    [MemberData(nameof(BadLimits))]
    public void CreateChannel_with_bad_limits_is_rejected_naming_the_key_and_nothing_is_stored(ChannelDefinition definition, string named)
    {
        var bus = LiminalBus.Start(Sys, DefaultSettings);

        Assert.Contains(named, Ask<ChannelRejected>(bus.Channels, new CreateChannel(definition)).Reason);
        Assert.Empty(Ask<ChannelList>(bus.Channels, GetChannels.Instance).Names);
        Assert.Equal(0, JournalRows("channels-defined"));
    }

    [Fact]
    public void A_channel_created_with_limits_keeps_them_after_a_restart()
    {
        var bus = LiminalBus.Start(Sys, DefaultSettings);
        Ask<ChannelCreated>(bus.Channels, new CreateChannel(new ChannelDefinition("audit", Durable: true) { MaxMessagesPerPartition = 2 }));
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, DefaultSettings);
            var probe = CreateTestProbe(restarted);
            for (var n = 1; n <= 4; n++)
                Ask<PublishAck>(recovered.Channels, Message("audit", n), probe);
            AwaitLog(restarted, recovered.Channels, "audit", 0, [3, 4]);
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    [Fact]
    public void A_failed_delete_is_retried_later_and_never_stops_the_partition()
    {
        var bus = LiminalBus.Start(Sys, With(new ChannelDefinition("orders", Durable: true) { MaxMessagesPerPartition = 2 }));
        Ask<PublishAck>(bus.Channels, Message("orders", 1));
        // Akka.Persistence.Sql deletes by marking rows deleted first: refusing that update fails every delete.
        ExecuteSql("CREATE TRIGGER refuse_deletes BEFORE UPDATE ON journal BEGIN SELECT RAISE(ABORT, 'deletes refused by the test'); END;");
        for (var n = 2; n <= 5; n++)
            Assert.Equal(n, Ask<PublishAck>(bus.Channels, Message("orders", n)).SequenceNr);
        AssertRead([1, 2, 3, 4, 5], 5, Read(Sys, bus.Channels, "orders", 0));

        ExecuteSql("DROP TRIGGER refuse_deletes;");
        AwaitLog(Sys, bus.Channels, "orders", 0, [4, 5]);
        Assert.Equal(6, Ask<PublishAck>(bus.Channels, Message("orders", 6)).SequenceNr);
        AwaitLog(Sys, bus.Channels, "orders", 0, [5, 6]);
    }
}
