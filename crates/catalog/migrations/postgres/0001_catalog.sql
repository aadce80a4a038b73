-- Products, categories and the link between them.
-- name_folded / description_folded hold the lower-cased text that search matches against,
-- computed by the service so that both backends fold case the same way.
CREATE TABLE categories (
    id TEXT PRIMARY KEY NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL
);

CREATE TABLE products (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    price_currency TEXT NOT NULL,
    price_units BIGINT NOT NULL,
    price_nanos BIGINT NOT NULL,
    picture_uri TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    description_folded TEXT NOT NULL
);

CREATE TABLE product_categories (
    product_id TEXT NOT NULL REFERENCES products (id),
    category_id TEXT NOT NULL REFERENCES categories (id),
    PRIMARY KEY (product_id, category_id)
);

CREATE INDEX product_categories_by_category ON product_categories (category_id, product_id);
