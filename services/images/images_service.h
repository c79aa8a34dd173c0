#pragma once

// containerd.services.images.v1.Images over the metadata ImageStore: Get, List (filters name,
// target.digest, target.mediatype, labels.*), Create, Update (field mask), Delete (sync = a
// garbage collection finishes before the reply). Publishes /images/create, /images/update and
// /images/delete.

#include "plugins/registry.h"

namespace berth::services {

void RegisterImagesService(plugins::Registry& registry);

}  // namespace berth::services
