using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Liminal.Actors.Dedup;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Tests.Persistence;

public sealed class LiminalEventSerializerTests
{
    [Fact]
    public void Every_persisted_type_has_a_stable_manifest()
    {
        var persisted = typeof(ILiminalEvent).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && (typeof(ILiminalEvent).IsAssignableFrom(t) || typeof(ILiminalSnapshot).IsAssignableFrom(t)));

        Assert.All(persisted, type => Assert.True(LiminalEventSerializer.Manifests.ContainsKey(type), $"{type.Name} has no manifest"));
        Assert.Equal(LiminalEventSerializer.Manifests.Count, LiminalEventSerializer.Manifests.Values.Distinct().Count());
    }

    [Fact]
    public void Every_public_message_crosses_the_wire_under_a_name_without_assembly_or_version()
    {
        var messages = typeof(ILiminalMessage).Assembly.GetExportedTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ILiminalMessage).IsAssignableFrom(t));

        Assert.All(messages, type => Assert.True(LiminalWireSerializer.Manifests.ContainsKey(type), $"{type.Name} has no wire manifest"));
        Assert.All(LiminalWireSerializer.Manifests.Values, manifest => Assert.DoesNotContain(",", manifest));
        Assert.Equal("Dedup.DedupDecision+Claimed", LiminalWireSerializer.Manifests[typeof(Liminal.Actors.Dedup.DedupDecision.Claimed)]);
    }

    [Fact]
    public void An_event_batch_round_trips_every_event_in_order_under_its_own_manifest()
    {
        using var system = ActorSystem.Create("serializer", LiminalSettings.DefaultConfig);
        var serializer = (SerializerWithStringManifest)system.Serialization.FindSerializerForType(typeof(EventBatch));
        var batch = new EventBatch([
            new KeyClaimed("a", 1) { Owner = "bus-1" },
            new KeyCompleted("a", [1, 2, 3], 2),
            new KeyReleased("b"),
        ]);

        var bytes = serializer.ToBinary(batch);
        var read = (EventBatch)serializer.FromBinary(bytes, serializer.Manifest(batch));

        // Stored under the events' own stable manifests, never CLR type names.
        Assert.Contains("\"manifest\":\"dedup.key-completed.v1\"", System.Text.Encoding.UTF8.GetString(bytes));
        Assert.DoesNotContain("Liminal.Actors", System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Equal(3, read.Events.Count);
        Assert.Equal(new KeyClaimed("a", 1) { Owner = "bus-1" }, read.Events[0]);
        var completed = Assert.IsType<KeyCompleted>(read.Events[1]);
        Assert.Equal(("a", 2L), (completed.Key, completed.CompletedAtMillis));
        Assert.Equal(new byte[] { 1, 2, 3 }, completed.Receipt);
        Assert.Equal(new KeyReleased("b"), read.Events[2]);
    }

    [Fact]
    public void A_batch_inside_a_batch_is_refused_on_write_and_on_read()
    {
        using var system = ActorSystem.Create("serializer", LiminalSettings.DefaultConfig);
        var serializer = (SerializerWithStringManifest)system.Serialization.FindSerializerForType(typeof(EventBatch));
        var manifest = serializer.Manifest(new EventBatch([]));

        Assert.Throws<ArgumentException>(() => serializer.ToBinary(new EventBatch([new EventBatch([new KeyReleased("a")])])));
        var nested = """{"events":[{"manifest":"liminal.event-batch.v1","event":{"events":[]}}]}"""u8.ToArray();
        Assert.Throws<SerializationException>(() => serializer.FromBinary(nested, manifest));
    }
}
