using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.PostgreSql;

/// <summary>Channel retention and purge against PostgreSQL (Akka.Persistence.Sql's own journal): write, delete, restart, read.</summary>
public sealed class PostgreSqlRetentionSpecs : PostgreSqlTestKit
{
    private List<long> Read(Akka.Actor.ActorSystem system, Akka.Actor.IActorRef channels, string channel, out long last)
    {
        var reader = CreateTestProbe(system);
        channels.Tell(new Replay(channel, 0, 1, reader.Ref), reader.Ref);
        var sequenceNrs = new List<long>();
        while (reader.ExpectMsg<object>(TimeSpan.FromSeconds(30)) is var message)
        {
            if (message is ReplayCompleted completed)
            {
                last = completed.LastSequenceNr;
                return sequenceNrs;
            }
            sequenceNrs.Add(Assert.IsType<Delivery>(message).SequenceNr!.Value);
        }
        throw new InvalidOperationException("unreachable");
    }

    [SkippableFact]
    public void Max_messages_retention_and_a_purge_delete_on_PostgreSQL_and_the_sequence_continues_after_a_restart()
    {
        RequireServer();
        var limited = $"{Unique}-limited";
        var purged = $"{Unique}-purged";
        var settings = DefaultSettings with
        {
            Channels = [new ChannelDefinition(limited, Durable: true) { MaxMessagesPerPartition = 2 }, new ChannelDefinition(purged, Durable: true)],
        };
        var bus = LiminalBus.Start(Sys, settings);
        for (var n = 1; n <= 5; n++)
        {
            Ask<PublishAck>(bus.Channels, new Publish(limited, new MessageEnvelope("{}"u8.ToArray(), "pg")));
            Ask<PublishAck>(bus.Channels, new Publish(purged, new MessageEnvelope("{}"u8.ToArray(), "pg"), $"{Unique}-k{n}"));
        }
        AwaitAssert(() => Assert.Equal([4L, 5L], Read(Sys, bus.Channels, limited, out _)), TimeSpan.FromSeconds(30));
        Assert.Equal(new ChannelPurged(purged, [6]), Ask<ChannelPurged>(bus.Channels, new PurgeChannel(purged)));
        Assert.Empty(Read(Sys, bus.Channels, purged, out var lastPurged));
        Assert.Equal(5, lastPurged);
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, settings);
            var probe = CreateTestProbe(restarted);
            Assert.Equal([4L, 5L], Read(restarted, recovered.Channels, limited, out _));
            Assert.Empty(Read(restarted, recovered.Channels, purged, out _));
            Assert.Equal(6, Ask<PublishAck>(recovered.Channels, new Publish(limited, new MessageEnvelope("{}"u8.ToArray(), "pg")), probe).SequenceNr);
            var again = Ask<PublishAck>(recovered.Channels, new Publish(purged, new MessageEnvelope("{}"u8.ToArray(), "pg"), $"{Unique}-k1"), probe);
            Assert.Equal((false, 6L), (again.Duplicate, again.SequenceNr!.Value));
            AwaitAssert(() => Assert.Equal([5L, 6L], Read(restarted, recovered.Channels, limited, out _)), TimeSpan.FromSeconds(30));
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
