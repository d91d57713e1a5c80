using Akka.Actor;
using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Offsets;

public sealed class ConsumerOffsetsSpecs : LiminalTestKit
{
    private IActorRef StartOffsets() => LiminalBus.Start(Sys, DefaultSettings).Offsets;

    [Fact]
    public void An_offset_moves_forward_and_never_backwards()
    {
        var offsets = StartOffsets();
        Assert.Equal(new CurrentOffset("billing", "orders-0", null), Ask<CurrentOffset>(offsets, new GetOffset("billing", "orders-0")));

        Ask<OffsetCommitted>(offsets, new CommitOffset("billing", "orders-0", 10));
        Assert.Equal(new OffsetRejected("billing", "orders-0", Stored: 10, Attempted: 9), Ask<OffsetRejected>(offsets, new CommitOffset("billing", "orders-0", 9)));
        Ask<OffsetCommitted>(offsets, new CommitOffset("billing", "orders-0", 10));   // the same again: accepted, nothing persisted
        Ask<OffsetCommitted>(offsets, new CommitOffset("billing", "orders-0", 12));

        Assert.Equal(new CurrentOffset("billing", "orders-0", 12), Ask<CurrentOffset>(offsets, new GetOffset("billing", "orders-0")));
        Assert.Equal(new CurrentOffset("billing", "orders-1", null), Ask<CurrentOffset>(offsets, new GetOffset("billing", "orders-1")));
        Assert.Equal(2, JournalRows("offsets-billing"));
    }

    [Fact]
    public void A_processed_event_is_remembered_once()
    {
        var offsets = StartOffsets();
        Assert.False(Ask<ProcessedStatus>(offsets, new WasProcessed("projector", "evt-1")).Processed);

        Ask<ProcessedRecorded>(offsets, new RecordProcessed("projector", "evt-1"));
        Ask<ProcessedRecorded>(offsets, new RecordProcessed("projector", "evt-1"));

        Assert.True(Ask<ProcessedStatus>(offsets, new WasProcessed("projector", "evt-1")).Processed);
        Assert.False(Ask<ProcessedStatus>(offsets, new WasProcessed("other-pipeline", "evt-1")).Processed);
        Assert.Equal(1, JournalRows("offsets-projector"));
    }

    [Fact]
    public void A_processed_event_id_is_remembered_for_the_retention_and_then_recorded_again_as_new()
    {
        var retention = TimeSpan.FromDays(7);
        var offsets = LiminalBus.Start(Sys, DefaultSettings with { OffsetsRetention = retention }).Offsets;
        Ask<ProcessedRecorded>(offsets, new RecordProcessed("projector", "evt-1"));
        Clock.Advance(TimeSpan.FromDays(1));
        Ask<ProcessedRecorded>(offsets, new RecordProcessed("projector", "evt-2"));

        Clock.Advance(retention - TimeSpan.FromDays(1) - TimeSpan.FromMilliseconds(1));
        Assert.True(Ask<ProcessedStatus>(offsets, new WasProcessed("projector", "evt-1")).Processed);
        Ask<ProcessedRecorded>(offsets, new RecordProcessed("projector", "evt-1"));   // still known: nothing written, nothing renewed
        Assert.Equal(2, JournalRows("offsets-projector"));

        Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(Ask<ProcessedStatus>(offsets, new WasProcessed("projector", "evt-1")).Processed);
        Assert.True(Ask<ProcessedStatus>(offsets, new WasProcessed("projector", "evt-2")).Processed);
        Ask<ProcessedRecorded>(offsets, new RecordProcessed("projector", "evt-1"));
        Assert.Equal(3, JournalRows("offsets-projector"));
        Assert.True(Ask<ProcessedStatus>(offsets, new WasProcessed("projector", "evt-1")).Processed);
    }

    [Fact]
    public void Malformed_requests_are_rejected_and_nothing_is_persisted()
    {
        var offsets = StartOffsets();

        Assert.Contains("negative", Ask<OffsetRequestRejected>(offsets, new CommitOffset("billing", "s", -1)).Reason);
        Assert.Contains("stream", Ask<OffsetRequestRejected>(offsets, new CommitOffset("billing", "", 1)).Reason);
        Assert.Contains("consumer", Ask<OffsetRequestRejected>(offsets, new CommitOffset("", "s", 1)).Reason);
        Assert.Contains("event id", Ask<OffsetRequestRejected>(offsets, new RecordProcessed("p", "")).Reason);
        Assert.Equal(0, JournalRows("offsets-"));
        Ask<OffsetCommitted>(offsets, new CommitOffset("billing", "s", 1));
    }

    [Fact]
    public void Offsets_and_receipts_survive_termination_and_replay_from_the_SQLite_file()
    {
        var offsets = StartOffsets();
        Ask<OffsetCommitted>(offsets, new CommitOffset("billing", "orders-0", 41));
        Ask<OffsetCommitted>(offsets, new CommitOffset("billing", "orders-0", 42));
        Ask<ProcessedRecorded>(offsets, new RecordProcessed("billing", "evt-7"));
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, DefaultSettings).Offsets;
            var probe = CreateTestProbe(restarted);
            Assert.Equal(42, Ask<CurrentOffset>(recovered, new GetOffset("billing", "orders-0"), probe).Offset);
            Assert.True(Ask<ProcessedStatus>(recovered, new WasProcessed("billing", "evt-7"), probe).Processed);
            Assert.Equal(41, Ask<OffsetRejected>(recovered, new CommitOffset("billing", "orders-0", 41), probe).Attempted);
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
