//! Where uploaded files live: an object store (a folder of the local file system, or a bucket of
//! any S3-compatible store) and the layout of the keys in it.
//!
//! Every key is made here from the book id and a random version, never from anything a client
//! sent:
//!
//! ```text
//! books/{book_id}/cover/{version}/large.jpg     the book page's cover (at most 600 px wide)
//! books/{book_id}/cover/{version}/small.jpg     the grid's cover (at most 300 px wide)
//! books/{book_id}/document/{version}            the book's document (kind in the database)
//! ```
//!
//! A replaced file gets a new version, so a cached URL of the old one never shows the new bytes.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt};

/// How to reach an S3-compatible bucket.
#[derive(Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// A folder inside the bucket that holds every key (empty for the bucket's root).
    pub prefix: String,
    /// The store's address, for anything but AWS itself (e.g. `http://minio:9000`).
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl std::fmt::Debug for S3Settings {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Where the files are kept, as configured.
#[derive(Debug, Clone)]
pub enum StorageLocation {
    /// A folder of the local file system (one process, or processes sharing that folder).
    Folder(PathBuf),
    S3(S3Settings),
}

impl StorageLocation {
    /// Reads `BOOKSTORE_OBJECT_STORE_URL`'s value: `s3://bucket[/prefix]`, `file:///absolute/path`
    /// or a plain path. The S3 connection details come separately.
    pub fn parse(url: &str, s3: impl FnOnce(String, String) -> S3Settings) -> Result<Self, String> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("{url:?} names no bucket (s3://bucket[/prefix])"));
            }
            return Ok(Self::S3(s3(
                bucket.to_owned(),
                prefix.trim_matches('/').to_owned(),
            )));
        }
        let path = url.strip_prefix("file://").unwrap_or(url);
        if path.is_empty() || url.contains("://") && !url.starts_with("file://") {
            return Err(format!(
                "{url:?} is neither s3://bucket[/prefix] nor file:///path nor a folder"
            ));
        }
        Ok(Self::Folder(PathBuf::from(path)))
    }
}

/// The object store of the uploads.
#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
}

impl Storage {
    /// Opens the configured store; a folder is created when missing. Nothing is contacted yet:
    /// an unreachable bucket shows on the first upload or download.
    pub fn open(location: &StorageLocation) -> anyhow::Result<Self> {
        match location {
            StorageLocation::Folder(folder) => Self::folder(folder),
            StorageLocation::S3(settings) => Self::s3(settings),
        }
    }

    fn folder(folder: &FsPath) -> anyhow::Result<Self> {
        std::fs::create_dir_all(folder).map_err(|err| {
            anyhow::anyhow!(
                "cannot create the uploads folder {}: {err}",
                folder.display()
            )
        })?;
        // Removes the folders a deleted file leaves empty, so deleted books leave no trace.
        let store = LocalFileSystem::new_with_prefix(folder)?.with_automatic_cleanup(true);
        Ok(Self {
            store: Arc::new(store),
        })
    }

    fn s3(settings: &S3Settings) -> anyhow::Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            // Path-style addressing (`endpoint/bucket/key`), which every S3-compatible store
            // understands; virtual-hosted names need DNS for each bucket.
            .with_virtual_hosted_style_request(false);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(key) = &settings.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let bucket: Arc<dyn ObjectStore> = Arc::new(builder.build()?);
        let store = if settings.prefix.is_empty() {
            bucket
        } else {
            Arc::new(PrefixStore::new(bucket, settings.prefix.as_str()))
        };
        Ok(Self { store })
    }

    pub fn store(&self) -> &dyn ObjectStore {
        self.store.as_ref()
    }

    /// Deletes every object whose key starts with `prefix`.
    pub async fn delete_all(&self, prefix: &Path) -> object_store::Result<()> {
        let locations = self
            .store
            .list(Some(prefix))
            .map_ok(|meta| meta.location)
            .boxed();
        self.store
            .delete_stream(locations)
            .try_for_each(|_| futures::future::ready(Ok(())))
            .await
    }

    /// Deletes one object; one that is already gone is not an error.
    pub async fn delete(&self, location: &Path) -> object_store::Result<()> {
        match self.store.delete(location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }
}

/// Every key of one book.
pub fn book_prefix(book_id: &str) -> Path {
    Path::from_iter(["books", book_id])
}

/// The folder of one version of a book's cover (stored in `books.cover_key`).
pub fn cover_prefix(book_id: &str, version: &str) -> Path {
    Path::from_iter(["books", book_id, "cover", version])
}

/// One size of a cover, under its folder.
pub fn cover_file(cover_key: &str, size: CoverSize) -> Path {
    Path::from(cover_key).join(size.file_name())
}

/// The version part of a cover's or document's key.
pub fn version_of(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// The key of one version of a book's document (stored in `books.document_key`).
pub fn document_key(book_id: &str, version: &str) -> Path {
    Path::from_iter(["books", book_id, "document", version])
}

/// A fresh random version for a new upload.
pub fn new_version() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The sizes a cover is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CoverSize {
    /// For the catalogue's grid.
    Small,
    /// For the book's page.
    Large,
}

impl CoverSize {
    pub const ALL: [CoverSize; 2] = [Self::Small, Self::Large];

    /// The most pixels across; a narrower image is not enlarged.
    pub fn width(self) -> u32 {
        match self {
            Self::Small => 300,
            Self::Large => 600,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Small => "small",
            Self::Large => "large",
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Self::Small => "small.jpg",
            Self::Large => "large.jpg",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn s3(bucket: String, prefix: String) -> S3Settings {
        S3Settings {
            bucket,
            prefix,
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
        }
    }

    #[test]
    fn urls_name_a_bucket_or_a_folder() {
        match StorageLocation::parse("s3://shop/uploads/", s3).unwrap() {
            StorageLocation::S3(settings) => {
                assert_eq!(settings.bucket, "shop");
                assert_eq!(settings.prefix, "uploads");
            }
            other => panic!("{other:?}"),
        }
        match StorageLocation::parse("s3://shop", s3).unwrap() {
            StorageLocation::S3(settings) => assert_eq!(settings.prefix, ""),
            other => panic!("{other:?}"),
        }
        match StorageLocation::parse("file:///var/lib/bookstore", s3).unwrap() {
            StorageLocation::Folder(path) => assert_eq!(path, PathBuf::from("/var/lib/bookstore")),
            other => panic!("{other:?}"),
        }
        match StorageLocation::parse("./data/objects", s3).unwrap() {
            StorageLocation::Folder(path) => assert_eq!(path, PathBuf::from("./data/objects")),
            other => panic!("{other:?}"),
        }
        for bad in [
            "s3://",
            "s3:///prefix",
            "gs://bucket",
            "",
            "https://example.test/x",
        ] {
            assert!(StorageLocation::parse(bad, s3).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_are_made_from_the_book_and_a_version() {
        let cover = cover_prefix("b1", "v1");
        assert_eq!(cover.as_ref(), "books/b1/cover/v1");
        assert_eq!(
            cover_file(cover.as_ref(), CoverSize::Small).as_ref(),
            "books/b1/cover/v1/small.jpg"
        );
        assert_eq!(document_key("b1", "v2").as_ref(), "books/b1/document/v2");
        assert_eq!(version_of(cover.as_ref()), "v1");
        assert_ne!(new_version(), new_version());
    }
}
