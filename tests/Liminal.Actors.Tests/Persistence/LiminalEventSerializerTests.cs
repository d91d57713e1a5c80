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
}
